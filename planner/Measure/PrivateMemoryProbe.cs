using System.Diagnostics;
using Microsoft.Win32.SafeHandles;

namespace GpuSplit.Planner.Measure;

/// <summary>
/// This process's private memory. On Linux: Private_Clean + Private_Dirty (+ Private_Hugetlb) of
/// /proc/self/smaps_rollup, the pages mapped by this process alone, whether anonymous (ONNX Runtime's arena,
/// the copied weights) or file-backed (external weights ONNX Runtime maps). Unlike RSS it leaves out shared
/// libraries' pages other processes share; unlike RssAnon it keeps mapped weight files. Elsewhere: the
/// operating system's private bytes (Windows: committed private memory).
/// </summary>
public sealed class PrivateMemoryProbe : IMemoryProbe, IDisposable
{
    private const string Rollup = "/proc/self/smaps_rollup";

    private readonly SafeFileHandle? rollup;
    private readonly byte[] buffer = new byte[4096];

    public PrivateMemoryProbe()
    {
        if (OperatingSystem.IsLinux() && File.Exists(Rollup))
        {
            rollup = File.OpenHandle(Rollup);
        }
    }

    public string Method => rollup is not null
        ? $"private memory: {Rollup} Private_Clean + Private_Dirty + Private_Hugetlb, sampled every {SampleInterval.TotalMilliseconds:0} ms"
        : $"private memory: Process.PrivateMemorySize64, sampled every {SampleInterval.TotalMilliseconds:0} ms";

    public TimeSpan SampleInterval => TimeSpan.FromMilliseconds(5);

    public MemoryReading Read()
    {
        if (rollup is null)
        {
            using var self = Process.GetCurrentProcess();
            return new MemoryReading(self.PrivateMemorySize64, null);
        }

        // pread at offset 0 makes the kernel render the file afresh; no allocation, so sampling adds no garbage.
        var length = RandomAccess.Read(rollup, buffer, 0);
        return new MemoryReading(ParsePrivateKiB(buffer.AsSpan(0, length)) * 1024, null);
    }

    public void Dispose() => rollup?.Dispose();

    /// <summary>Sums the "Private_*: N kB" lines of an smaps_rollup text.</summary>
    internal static long ParsePrivateKiB(ReadOnlySpan<byte> text)
    {
        long total = 0;
        foreach (var range in text.Split((byte)'\n'))
        {
            var line = text[range];
            if (!line.StartsWith("Private_"u8))
            {
                continue;
            }

            var colon = line.IndexOf((byte)':');
            long value = 0;
            foreach (var b in line[(colon + 1)..])
            {
                if (b is >= (byte)'0' and <= (byte)'9')
                {
                    value = (value * 10) + (b - '0');
                }
            }

            total += value;
        }

        return total;
    }
}
