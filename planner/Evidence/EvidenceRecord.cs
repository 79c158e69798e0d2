using GpuSplit.Planner.Memory;

namespace GpuSplit.Planner.Evidence;

/// <summary>
/// What a combination of models did on a real card: one field report, kept as data. The same shape serves the
/// embedded seed records, a user's `--evidence` file and the agent's own records. Model names are the catalog's
/// (Immich's) names; a job switched off is null. <see cref="Concurrency"/> is null when the source does not know it
/// (the agent's records, unless its operator configured it): not a default to assume.
/// </summary>
public sealed record EvidenceRecord(
    string Gpu,
    long VramMiB,
    int Workers,
    JobConcurrency? Concurrency,
    string Clip,
    string? FacialRecognition,
    string? Ocr,
    EvidenceOutcome Outcome,
    string Source);

/// <summary>What the card did with the combination, from worst to best.</summary>
public enum EvidenceOutcome
{
    /// <summary>Failed to run: out of memory at once.</summary>
    Oom,

    /// <summary>Ran out of memory now and then: its worst-case peak is above the card.</summary>
    Unstable,

    /// <summary>Ran under load with no out-of-memory.</summary>
    Works,

    /// <summary>Ran with at least a quarter of the card free.</summary>
    Comfortable,
}
