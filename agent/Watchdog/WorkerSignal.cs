using GpuSplit.Agent.Status;

namespace GpuSplit.Agent.Watchdog;

/// <summary>Something observed about the worker that may be a failure; the policies classify it.</summary>
public abstract record WorkerSignal(DateTimeOffset At);

/// <summary>
/// The container is not running: a <c>die</c> event, or found stopped. <paramref name="KilledOnRequest"/>: a
/// <c>kill</c> event came first, so someone asked Docker to stop it (docker stop, docker kill).
/// </summary>
public sealed record ContainerStopped(WorkerInspection Container, DateTimeOffset At, bool KilledOnRequest) : WorkerSignal(At);

/// <summary>One line of the worker's stdout or stderr.</summary>
public sealed record LogLine(string Text, DateTimeOffset At) : WorkerSignal(At);

/// <summary>GPU memory stayed above the threshold for the whole window while the worker served.</summary>
public sealed record VramExhausted(string Description, DateTimeOffset At) : WorkerSignal(At);

/// <summary>An operator asked for a restart (RestartWorker); the outcome goes back to the caller.</summary>
public sealed record OperatorRestart(string Reason, DateTimeOffset At, TaskCompletionSource<RestartOutcome> Outcome) : WorkerSignal(At);

/// <summary>The crash-loop back-off has run out: time to try again.</summary>
public sealed record BackoffElapsed(DateTimeOffset At) : WorkerSignal(At);

public sealed record RestartOutcome(bool Restarted, string Message);
