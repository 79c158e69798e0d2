namespace GpuSplit.Agent.Status;

/// <summary>The GPUs as last read, with each process mapped to its container.</summary>
public sealed record GpuView(bool Available, string? UnavailableReason, IReadOnlyList<GpuDeviceView> Devices, string? ExhaustedReason)
{
    public static readonly GpuView NotYetRead = new(false, "GPU not read yet", [], null);

    /// <summary>Memory above the threshold for the sustained window while the worker serves.</summary>
    public bool Exhausted => ExhaustedReason is not null;

    // By content: an unchanged reading must not count as a change of the picture (watchers wake on changes).
    public bool Equals(GpuView? other) =>
        other is not null && Available == other.Available && UnavailableReason == other.UnavailableReason
        && ExhaustedReason == other.ExhaustedReason && Devices.SequenceEqual(other.Devices);

    public override int GetHashCode() => HashCode.Combine(Available, UnavailableReason, ExhaustedReason, Devices.Count);
}

public sealed record GpuDeviceView(
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
    IReadOnlyList<GpuProcessView> Processes)
{
    /// <summary>Memory held by processes that are not the ML worker (a game on the gaming PC).</summary>
    public ulong ContentionBytes => Processes.Where(p => !p.IsWorker).Aggregate(0UL, (sum, p) => sum + p.UsedMemoryBytes);

    public double UsedFraction => MemoryTotalBytes == 0 ? 0 : (double)MemoryUsedBytes / MemoryTotalBytes;

    public bool Equals(GpuDeviceView? other) =>
        other is not null && Index == other.Index && Name == other.Name && Uuid == other.Uuid && MemoryTotalBytes == other.MemoryTotalBytes
        && MemoryUsedBytes == other.MemoryUsedBytes && MemoryFreeBytes == other.MemoryFreeBytes && UtilizationPercent == other.UtilizationPercent
        && MemoryUtilizationPercent == other.MemoryUtilizationPercent && TemperatureCelsius == other.TemperatureCelsius
        && PowerMilliwatts == other.PowerMilliwatts && ComputeCapabilityMajor == other.ComputeCapabilityMajor
        && ComputeCapabilityMinor == other.ComputeCapabilityMinor && Processes.SequenceEqual(other.Processes);

    public override int GetHashCode() => HashCode.Combine(Index, Uuid, MemoryUsedBytes, Processes.Count);
}

public sealed record GpuProcessView(uint Pid, ulong UsedMemoryBytes, string? ContainerId, string? ContainerName, bool IsWorker);
