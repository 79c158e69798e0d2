using GpuSplit.Protos.V1;

namespace GpuSplit.Agent.Power;

/// <summary>Decides whether the box may go to sleep now.</summary>
public interface ISleepRefusalPolicy
{
    /// <returns>Null when the box may sleep; otherwise the refusal and its reason.</returns>
    SleepVerdict? Refuse(SleepCheck check);
}

/// <summary>What the agent sees when asked to sleep.</summary>
/// <param name="GpuUnreadableReason">Null when the GPUs were read; otherwise why not (no driver, NVML error).</param>
/// <param name="WorkerRestarting">The watchdog is restarting the worker right now.</param>
public sealed record SleepCheck(string? GpuUnreadableReason, IReadOnlyList<GpuUse> Gpus, bool WorkerRestarting);

/// <param name="Processes">Compute processes on this GPU.</param>
public sealed record GpuUse(uint Index, uint UtilizationPercent, IReadOnlyList<GpuProcessUse> Processes);

/// <param name="IsWorker">The process belongs to the ML worker container.</param>
public sealed record GpuProcessUse(uint Pid, ulong UsedMemoryBytes, bool IsWorker, string? ContainerName);

public sealed record SleepVerdict(SleepRefusal Refusal, string Message);
