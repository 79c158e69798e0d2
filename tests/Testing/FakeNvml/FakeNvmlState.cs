using System.Globalization;
using System.Text;
using GpuSplit.Nvml;

namespace GpuSplit.Testing;

/// <summary>One GPU of the fake NVML. Free memory is total minus used unless set.</summary>
public sealed record FakeGpu
{
    public const ulong Gtx1060TotalBytes = 6144UL * 1024 * 1024;

    public string Name { get; init; } = "NVIDIA GeForce GTX 1060 6GB";
    public string Uuid { get; init; } = "GPU-00000000-1060-0000-0000-000000000000";
    public ulong TotalBytes { get; init; } = Gtx1060TotalBytes;
    public ulong UsedBytes { get; init; }

    /// <summary>Used memory is the sum of the device's processes at each call, included files' processes too (<c>used=sum</c>).</summary>
    public bool UsedIsSumOfProcesses { get; init; }
    public ulong? FreeBytes { get; init; }
    public uint GpuUtilizationPercent { get; init; }
    public uint MemoryUtilizationPercent { get; init; }
    public uint TemperatureCelsius { get; init; } = 40;
    public uint PowerMilliwatts { get; init; } = 30_000;
    public int ComputeMajor { get; init; } = 6;
    public int ComputeMinor { get; init; } = 1;
}

/// <summary>
/// A process with a compute context on GPU <see cref="Device"/>, or a graphics one (a game) when
/// <see cref="Graphics"/>. <see cref="UsedBytes"/> null is NVML's "not available" (Windows WDDM). A process that
/// <see cref="AppearsLate"/> is missing from NVML's size query and present in the fetch after it, as when a process
/// starts between the two calls.
/// </summary>
public sealed record FakeGpuProcess(uint Pid, ulong? UsedBytes, int Device = 0)
{
    public bool AppearsLate { get; init; }

    public bool Graphics { get; init; }
}

/// <summary>NVML entry point <see cref="Function"/> answers <see cref="Code"/>, on every device or only on <see cref="Device"/>.</summary>
public sealed record FakeNvmlFailure(string Function, NvmlReturn Code, int? Device = null);

/// <summary>What the fake NVML reports; <see cref="ToText"/> is the state file fake_nvml.c reads.</summary>
public sealed record FakeNvmlState
{
    public IReadOnlyList<FakeGpu> Devices { get; init; } = [];
    public IReadOnlyList<FakeGpuProcess> Processes { get; init; } = [];
    public IReadOnlyList<FakeNvmlFailure> Failures { get; init; } = [];

    /// <summary>
    /// Files whose process lines are read on every call (<c>include PATH</c>); a file that does not exist yet adds
    /// nothing. A program under test writes its own processes there, e.g. the ML stand-in as its models load.
    /// </summary>
    public IReadOnlyList<string> Includes { get; init; } = [];

    /// <summary>One GTX 1060 6GB whose used memory is the sum of <paramref name="processes"/>'.</summary>
    public static FakeNvmlState OneGtx1060(params FakeGpuProcess[] processes) => new()
    {
        Devices = [new FakeGpu { UsedBytes = processes.Aggregate(0UL, (sum, p) => sum + (p.UsedBytes ?? 0)) }],
        Processes = processes,
    };

    public string ToText()
    {
        var text = new StringBuilder();
        foreach (var gpu in Devices)
        {
            if (gpu.Name.AsSpan().ContainsAny('\r', '\n') || gpu.Uuid.AsSpan().ContainsAny(' ', '\r', '\n'))
            {
                throw new ArgumentException($"a fake GPU's name must be one line and its UUID one word: '{gpu.Name}', '{gpu.Uuid}'");
            }

            var used = gpu.UsedIsSumOfProcesses ? "sum" : gpu.UsedBytes.ToString(CultureInfo.InvariantCulture);
            text.Append(CultureInfo.InvariantCulture, $"device uuid={gpu.Uuid} total={gpu.TotalBytes} used={used}");
            if (gpu.FreeBytes is { } free)
            {
                text.Append(CultureInfo.InvariantCulture, $" free={free}");
            }

            // name= comes last: it takes the rest of the line.
            text.Append(CultureInfo.InvariantCulture,
                    $" util={gpu.GpuUtilizationPercent} memutil={gpu.MemoryUtilizationPercent} temp={gpu.TemperatureCelsius}")
                .Append(CultureInfo.InvariantCulture,
                    $" power={gpu.PowerMilliwatts} cc={gpu.ComputeMajor}.{gpu.ComputeMinor} name={gpu.Name}\n");
        }

        foreach (var process in Processes)
        {
            var used = process.UsedBytes?.ToString(CultureInfo.InvariantCulture) ?? "na";
            text.Append(CultureInfo.InvariantCulture, $"process device={process.Device} pid={process.Pid} used={used}")
                .Append(process.AppearsLate ? " late" : "")
                .Append(process.Graphics ? " graphics\n" : "\n");
        }

        foreach (var include in Includes)
        {
            if (include.AsSpan().ContainsAny('\r', '\n'))
            {
                throw new ArgumentException($"an included state file's path must be one line: '{include}'");
            }

            text.Append(CultureInfo.InvariantCulture, $"include {include}\n");
        }

        foreach (var failure in Failures)
        {
            text.Append(CultureInfo.InvariantCulture, $"fail {failure.Function} {(int)failure.Code}")
                .Append(failure.Device is { } device ? string.Create(CultureInfo.InvariantCulture, $" device={device}\n") : "\n");
        }

        return text.ToString();
    }
}
