using GpuSplit.Agent.Status;

namespace GpuSplit.Agent.Watchdog;

/// <summary>The kernel killed the worker for host memory (OOMKilled, exit 137): a fresh start frees it; restart.</summary>
public sealed class HostOomKilledPolicy : IFailurePolicy
{
    public FailureVerdict? Classify(WorkerSignal signal) => signal is ContainerStopped { Container.OomKilled: true } stopped
        ? new FailureVerdict(FailureKind.HostOomKilled,
            $"killed by the kernel for host memory (OOMKilled, exit code {stopped.Container.ExitCode})", FailureAction.Restart)
        : null;
}
