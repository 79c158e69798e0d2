namespace GpuSplit.Agent.Gpu;

/// <summary>Reads the GPUs once. Throws <see cref="GpuUnavailableException"/> when they cannot be read, with why.</summary>
public interface IGpuReader
{
    IReadOnlyList<GpuDeviceReading> Read();
}

public sealed record GpuDeviceReading(
    uint Index,
    string Name,
    string Uuid,
    ulong MemoryTotalBytes,
    ulong MemoryUsedBytes,
    ulong MemoryFreeBytes,
    uint UtilizationPercent,
    uint MemoryUtilizationPercent,
    uint TemperatureCelsius,
    uint PowerMilliwatts,
    int ComputeCapabilityMajor,
    int ComputeCapabilityMinor,
    IReadOnlyList<GpuProcessReading> Processes);

/// <summary>A compute process as NVML reports it: the host's pid.</summary>
public sealed record GpuProcessReading(uint Pid, ulong UsedMemoryBytes);

/// <summary>NVML cannot be used (no driver, no GPU, disabled); the message says which, for the status.</summary>
public sealed class GpuUnavailableException : Exception
{
    public GpuUnavailableException(string message)
        : base(message)
    {
    }

    public GpuUnavailableException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public GpuUnavailableException()
    {
    }
}
