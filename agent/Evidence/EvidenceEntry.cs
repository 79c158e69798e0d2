using System.Text.Json.Serialization;
using GpuSplit.Agent.Footprints;
using GpuSplit.Agent.Hosting;

namespace GpuSplit.Agent.Evidence;

/// <summary>What the worker did with a set of models on this card.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<WorkerOutcome>))]
public enum WorkerOutcome
{
    /// <summary>The agent restarted the worker after a CUDA out-of-memory while these models were loaded.</summary>
    Oom,

    /// <summary>The worker served these models for the configured time without one.</summary>
    Works,

    /// <summary>As <see cref="Works"/>, and its peak left at least a quarter of the card free.</summary>
    Comfortable,
}

/// <summary>
/// One field report the agent made on its own card, kept beside the footprints: the models the worker had loaded (as
/// Immich's log names them), the card, the worker processes, the job concurrency if the operator configured it (null:
/// unknown), the outcome and the worker's peak GPU memory in that run.
/// </summary>
public sealed record EvidenceEntry(
    DateTimeOffset At,
    string Gpu,
    long VramBytes,
    int Workers,
    JobConcurrencySetting? Concurrency,
    string Image,
    IReadOnlyList<LoggedComponent> Components,
    WorkerOutcome Outcome,
    long PeakBytes,
    string Source);
