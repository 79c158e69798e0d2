using GpuSplit.Agent.Status;

namespace GpuSplit.Agent.Watchdog;

/// <summary>
/// The worker exited on its own (a crash, a Python error at import): restart. A stop someone asked Docker for
/// (docker stop) is not a failure and is left alone.
/// </summary>
public sealed class ExitedPolicy : IFailurePolicy
{
    public FailureVerdict? Classify(WorkerSignal signal) => signal is ContainerStopped { KilledOnRequest: false } stopped
        ? new FailureVerdict(FailureKind.Exited, $"exited with code {stopped.Container.ExitCode}", FailureAction.Restart)
        : null;
}
