using System.Globalization;

namespace GpuSplit.Agent.Status;

/// <summary>The whole picture at one moment: the facts, the worker's phase, and whether the box serves and why not.</summary>
public sealed record AgentSnapshot(DateTimeOffset ObservedAt, string Container, string DockerEndpoint, AgentFacts Facts)
{
    public WorkerPhase Phase { get; } = PhaseOf(Facts);

    /// <summary>True when the worker runs, answers /ping, the GPU is not exhausted, and the box is not going to sleep.</summary>
    public bool Serving => Phase == WorkerPhase.Running && !Facts.Gpu.Exhausted && !Facts.Power.GoingToSleep;

    /// <summary>Empty when serving; otherwise a sentence a person can read.</summary>
    public string NotServingReason => Serving ? "" : Facts.Power.GoingToSleep ? $"going to sleep on purpose: {Facts.Power.Reason}" : Phase switch
    {
        WorkerPhase.DockerUnavailable => $"the Docker engine at {DockerEndpoint} does not answer: {Facts.DockerError}",
        WorkerPhase.Restarting => $"worker restarting after {Facts.LastFailure?.Reason ?? "a failure"}",
        WorkerPhase.GpuUnsupported => $"the ML image cannot run on this GPU, restarting cannot help: {Facts.GpuUnsupported?.Reason}",
        WorkerPhase.CrashLooping => $"worker crash-looping, next restart at {Facts.BackoffUntil?.ToString("u", CultureInfo.InvariantCulture)}: {Facts.LastFailure?.Reason}",
        WorkerPhase.Missing => $"no container named {Container}",
        WorkerPhase.Stopped when Facts.StoppedByOperator => $"container {Container} was stopped by an operator",
        WorkerPhase.Stopped => $"container {Container} is not running ({Facts.Container?.Status}, exit code {Facts.Container?.ExitCode})",
        WorkerPhase.Starting => $"container {Container} runs but /ping does not answer yet",
        _ => Facts.Gpu.ExhaustedReason ?? "",
    };

    private static WorkerPhase PhaseOf(AgentFacts facts) => facts switch
    {
        { DockerError: not null } => WorkerPhase.DockerUnavailable,
        { Restarting: true } => WorkerPhase.Restarting,
        { GpuUnsupported: not null } => WorkerPhase.GpuUnsupported,
        { BackoffUntil: not null } => WorkerPhase.CrashLooping,
        { Container: null } => WorkerPhase.Missing,
        { Container.Running: false } => WorkerPhase.Stopped,
        { PingOk: true } => WorkerPhase.Running,
        _ => WorkerPhase.Starting,
    };
}
