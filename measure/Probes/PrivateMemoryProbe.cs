using System.Diagnostics;
using GpuSplit.Planner.Measure;
using Microsoft.Win32.SafeHandles;

namespace GpuSplit.PlannerMeasure.Probes;

/// <summary>
/// This process's private memory. On Linux: RssAnon of /proc/self/status, the resident anonymous pages, where
/// everything a model costs lives (ONNX Runtime's arena, its copy of the weights, inline or external, the inputs
/// and outputs). File-backed pages are left out on purpose: they are mostly libonnxruntime's code, shared with
/// any other process that maps it, so counting them made a model's share move when another process started.
/// The kernel keeps the figure as a counter (reading it costs microseconds, where smaps_rollup's page walk costs
/// milliseconds and would steal the CPU the model runs on); it can lag the exact page count by a few hundred KiB.
/// Elsewhere: the operating system's private bytes (Windows: committed private memory).
/// </summary>
public sealed class PrivateMemoryProbe : IMemoryProbe, IDisposable
{
    private const string Status = "/proc/self/status";

    private readonly SafeFileHandle? status;
    private readonly byte[] buffer = new byte[8192];

    public PrivateMemoryProbe()
    {
        if (OperatingSystem.IsLinux() && File.Exists(Status))
        {
            status = File.OpenHandle(Status);
        }
    }

    public string Method => status is not null
        ? $"private memory: RssAnon of {Status} (resident anonymous pages; code and shared files left out), sampled every {SampleInterval.TotalMilliseconds:0} ms"
        : $"private memory: Process.PrivateMemorySize64, sampled every {SampleInterval.TotalMilliseconds:0} ms";

    public TimeSpan SampleInterval => TimeSpan.FromMilliseconds(2);

    public MemoryReading Read()
    {
        if (status is null)
        {
            using var self = Process.GetCurrentProcess();
            return new MemoryReading(self.PrivateMemorySize64, null);
        }

        // pread at offset 0 makes the kernel render the file afresh; no allocation, so sampling adds no garbage.
        var length = RandomAccess.Read(status, buffer, 0);
        return new MemoryReading(ParseKiB(buffer.AsSpan(0, length), "RssAnon:"u8) * 1024, null);
    }

    public void Dispose() => status?.Dispose();

    /// <summary>The value of a "Name:   N kB" line of a /proc status text.</summary>
    internal static long ParseKiB(ReadOnlySpan<byte> text, ReadOnlySpan<byte> name)
    {
        foreach (var range in text.Split((byte)'\n'))
        {
            var line = text[range];
            if (!line.StartsWith(name))
            {
                continue;
            }

            long value = 0;
            foreach (var b in line[name.Length..])
            {
                if (b is >= (byte)'0' and <= (byte)'9')
                {
                    value = (value * 10) + (b - '0');
                }
            }

            return value;
        }

        throw new InvalidOperationException($"{Status} has no {System.Text.Encoding.ASCII.GetString(name)} line");
    }
}
