namespace GpuSplit.Nvml;

/// <summary>Device memory in bytes, as <c>nvmlDeviceGetMemoryInfo</c> reports it.</summary>
public sealed record GpuMemory(ulong TotalBytes, ulong FreeBytes, ulong UsedBytes);

/// <summary>CUDA compute capability, e.g. 6.1 for Pascal (GTX 1060).</summary>
public sealed record ComputeCapability(int Major, int Minor)
{
    public override string ToString() => $"{Major}.{Minor}";
}

/// <summary>Percent of the last sample period the GPU was busy and its memory was read or written.</summary>
public sealed record GpuUtilization(uint GpuPercent, uint MemoryPercent);

/// <summary>
/// A process with a compute or graphics context on the device. The pid is the host's, also inside a container.
/// <see cref="UsedMemoryBytes"/> is null where the driver cannot tell (Windows WDDM).
/// </summary>
public sealed record GpuProcess(uint Pid, ulong? UsedMemoryBytes);

/// <summary>
/// Everything about one device from one read. Utilization, temperature and power are null when the card
/// does not support them (NVML_ERROR_NOT_SUPPORTED); every other failure throws.
/// </summary>
public sealed record GpuSnapshot(
    int Index,
    string Name,
    string Uuid,
    ComputeCapability ComputeCapability,
    GpuMemory Memory,
    IReadOnlyList<GpuProcess> Processes,
    GpuUtilization? Utilization,
    uint? TemperatureCelsius,
    uint? PowerMilliwatts);
