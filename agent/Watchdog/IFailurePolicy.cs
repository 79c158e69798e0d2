using GpuSplit.Agent.Status;

namespace GpuSplit.Agent.Watchdog;

/// <summary>
/// Recognizes one kind of failure in a signal and says what to do about it. The watchdog asks each policy in
/// order; the first verdict wins.
/// </summary>
public interface IFailurePolicy
{
    FailureVerdict? Classify(WorkerSignal signal);
}

public enum FailureAction
{
    /// <summary>Restart the worker (subject to the crash-loop guard).</summary>
    Restart,

    /// <summary>Record and report; leave the worker alone.</summary>
    Report,

    /// <summary>Record, report, and never restart automatically: a restart cannot help.</summary>
    NeverRestart,
}

public sealed record FailureVerdict(FailureKind Kind, string Reason, FailureAction Action);
