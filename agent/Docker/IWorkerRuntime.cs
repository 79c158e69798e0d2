using GpuSplit.Agent.Status;

namespace GpuSplit.Agent.Docker;

/// <summary>
/// The ML worker container, and nothing else: every method acts on the configured name only, so the agent can never
/// restart another container by mistake.
/// </summary>
public interface IWorkerRuntime
{
    /// <summary>The container as Docker sees it now; null when no container has the configured name.</summary>
    Task<WorkerInspection?> InspectAsync(CancellationToken cancellationToken);

    /// <summary>Restarts (or starts, when stopped) the worker; Docker gives it the configured grace period first.</summary>
    Task RestartAsync(CancellationToken cancellationToken);

    /// <summary>Host process ids of the worker's processes (what NVML reports); empty when it does not run.</summary>
    Task<IReadOnlySet<uint>> ProcessIdsAsync(CancellationToken cancellationToken);
}
