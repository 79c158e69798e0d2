using GpuSplit.Agent.Power;

namespace GpuSplit.Agent.Status;

/// <summary>
/// What the watchers have observed, each fact written by the one component that knows it: Docker's answers by the
/// worker watcher, /ping by the probe, restarts and failures by the watchdog, the GPU by the GPU watcher. The
/// phase and whether the box serves are derived from these in one place (<see cref="AgentSnapshot"/>).
/// </summary>
public sealed record AgentFacts
{
    /// <summary>Null while Docker answers; otherwise why not.</summary>
    public string? DockerError { get; init; } = "not connected yet";

    /// <summary>Null when no container with the configured name exists (or Docker has not answered).</summary>
    public WorkerInspection? Container { get; init; }

    public bool PingOk { get; init; }

    public bool Restarting { get; init; }

    public int RestartCount { get; init; }

    public FailureRecord? LastFailure { get; init; }

    /// <summary>Set once the image proved it cannot run on this card; cleared by an operator restart or a new container.</summary>
    public FailureRecord? GpuUnsupported { get; init; }

    /// <summary>Set while crash-looping: no restart before this time.</summary>
    public DateTimeOffset? BackoffUntil { get; init; }

    /// <summary>Someone stopped the container (docker stop); the agent leaves it stopped.</summary>
    public bool StoppedByOperator { get; init; }

    public GpuView Gpu { get; init; } = GpuView.NotYetRead;

    /// <summary>Whether the box is going to sleep on purpose (an accepted Sleep), written by the sleep coordinator.</summary>
    public PowerView Power { get; init; } = PowerView.Awake;
}
