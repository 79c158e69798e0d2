using GpuSplit.Agent.Status;

namespace GpuSplit.Agent.Watchdog;

/// <summary>An operator asked through RestartWorker (with the token): restart, whatever the watchdog thought.</summary>
public sealed class OperatorRestartPolicy : IFailurePolicy
{
    public FailureVerdict? Classify(WorkerSignal signal) => signal is OperatorRestart request
        ? new FailureVerdict(FailureKind.Operator, $"an operator asked: {request.Reason}", FailureAction.Restart)
        : null;
}
