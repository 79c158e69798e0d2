using GpuSplit.Agent.Status;

namespace GpuSplit.Agent.Power;

/// <summary>What the refusal policy needs, read from the agent's current picture.</summary>
public static class SleepChecks
{
    public static SleepCheck From(AgentSnapshot snapshot)
    {
        var gpu = snapshot.Facts.Gpu;
        return new SleepCheck(
            gpu.Available ? null : gpu.UnavailableReason ?? "GPU not read",
            [.. gpu.Devices.Select(d => new GpuUse(d.Index, d.UtilizationPercent,
                [.. d.Processes.Select(p => new GpuProcessUse(p.Pid, p.UsedMemoryBytes, p.IsWorker, p.ContainerName))]))],
            snapshot.Phase == WorkerPhase.Restarting);
    }
}
