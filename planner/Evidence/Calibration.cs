using GpuSplit.Planner.Memory;

namespace GpuSplit.Planner.Evidence;

/// <summary>
/// One field report as an inequality on the estimate of its own combination, at its own card size, workers and
/// concurrency. The estimate is the same the fit uses (the catalog, the fit's measured figures and runtime costs).
/// </summary>
/// <param name="EstimatedPeakBytes">The model's peak for the record's combination and settings, before calibration.</param>
/// <param name="UnboundedBytes">What in that estimate the model cannot bound: its activations and ratchet (see <see cref="Calibration"/>).</param>
/// <param name="NotUsed">Why the record cannot be judged (a model the catalog does not have); null when it can.</param>
/// <param name="Concurrency">The job concurrency the record was judged at: its own, or the fit's where the record does not know it (an agent that was not told Immich's settings).</param>
public sealed record EvidenceBound(EvidenceEntry Entry, JobConcurrency Concurrency, long EstimatedPeakBytes, long UnboundedBytes, string? NotUsed = null)
{
    public long CardBytes => Entry.Record.VramMiB * Units.ByteSize.MiB;
}

/// <summary>What the calibration made of one record.</summary>
/// <param name="CalibratedPeakBytes">The record's combination with the correction added; null when the record is not used.</param>
/// <param name="SetsCalibration">This record's inequality is the one that decides the correction's size.</param>
/// <param name="Contradiction">How the record disagrees with the others or with the model, in one line; null when it agrees.</param>
public sealed record EvidenceCheck(
    EvidenceBound Bound,
    long? CalibratedPeakBytes,
    bool SetsCalibration,
    string? Contradiction)
{
    public EvidenceEntry Entry => Bound.Entry;

    public bool Used => Bound.NotUsed is null;
}

/// <summary>
/// The correction the field reports call for: the share <see cref="Share"/> = <see cref="Numerator"/> ÷
/// <see cref="Denominator"/> of the terms the static model cannot bound (every candidate's activations and ratchet,
/// which already count each request in flight and each worker), added to its estimate as the term `calibration`.
/// Kept as a fraction of whole bytes so that the record that sets it lands exactly where its inequality says.
/// docs/memory-model.md says why this form.
/// </summary>
/// <param name="Numerator">What the record that sets the share lacks over its card; 0 with no such record.</param>
/// <param name="Denominator">That record's activations and ratchet.</param>
/// <param name="Checks">Every record given to the fit, used or not, each with what the calibration made of it.</param>
public sealed record Calibration(long Numerator, long Denominator, IReadOnlyList<EvidenceCheck> Checks)
{
    public static Calibration None { get; } = new(0, 1, []);

    public double Share => (double)Numerator / Denominator;

    public IEnumerable<EvidenceCheck> SetBy => Checks.Where(c => c.SetsCalibration);

    public IEnumerable<EvidenceCheck> Used => Checks.Where(c => c.Used);

    public IEnumerable<EvidenceCheck> Contradictions => Checks.Where(c => c.Contradiction is not null);

    /// <summary>The terms of an estimate the correction is in proportion to.</summary>
    public static long UnboundedBytes(MemoryEstimate estimate) => estimate.ActivationBytes + estimate.RatchetBytes;

    public long CorrectionBytes(MemoryEstimate estimate) => Correction(UnboundedBytes(estimate));

    /// <summary>The share of <paramref name="unboundedBytes"/>, rounded up to a whole byte.</summary>
    public long Correction(long unboundedBytes) => (long)((((Int128)Numerator * unboundedBytes) + Denominator - 1) / Denominator);
}
