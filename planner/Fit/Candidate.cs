using System.Globalization;
using GpuSplit.Planner.Evidence;
using GpuSplit.Planner.Memory;
using GpuSplit.Planner.Units;

namespace GpuSplit.Planner.Fit;

/// <summary>
/// One combination judged against the budget: by its measurement through Immich's service when there is one, else by
/// the estimate with the field reports' calibration added; and never better than a field report saw it on such a card.
/// </summary>
/// <param name="Verdict">What the plan is chosen by: the measurement's when there is one, capped by a failure a record saw.</param>
/// <param name="EstimatedVerdict">The static model's own verdict, before calibration.</param>
/// <param name="Measured">The card's own run of this combination; null: the estimate decides.</param>
/// <param name="CalibrationBytes">The field reports' correction for this combination (<see cref="Calibration"/>).</param>
/// <param name="CalibratedVerdict">The verdict of the estimate with the correction added, kept beside a measurement so a disagreement shows.</param>
/// <param name="FailedOn">A record that saw these models run out of memory on a card as small at the same or a lighter load.</param>
public sealed record Candidate(
    Combination Combination,
    MemoryEstimate Estimate,
    Verdict Verdict,
    long BudgetBytes,
    Verdict EstimatedVerdict,
    MeasuredCombination? Measured,
    long CalibrationBytes,
    Verdict CalibratedVerdict,
    EvidenceEntry? FailedOn)
{
    public long CalibratedPeakBytes => Estimate.PeakBytes + CalibrationBytes;

    public long PeakBytes => Measured?.PeakBytes ?? CalibratedPeakBytes;

    public long HeadroomBytes => BudgetBytes - PeakBytes;

    public bool Usable => Verdict >= Verdict.Fits;

    public FigureOrigin VerdictOrigin => FailedOn is not null ? FigureOrigin.Evidence
        : Measured is null ? FigureOrigin.Estimate : FigureOrigin.Service;

    /// <summary>
    /// One line when the card and the estimate disagree: a self-hoster needs to know that the model's numbers were
    /// wrong for their card, and which way.
    /// </summary>
    public string? Disagreement => Measured is not { } measured || Verdict == CalibratedVerdict
        ? null
        : string.Create(CultureInfo.InvariantCulture,
            $"measured {Verdict.WireName()} on {measured.Device} ({Evidence(measured)}, {measured.MeasuredAt:yyyy-MM-dd}); the estimate said {CalibratedVerdict.WireName()} at {ByteSize.FormatMiB(CalibratedPeakBytes)}{(CalibrationBytes > 0 ? " with calibration" : "")}");

    /// <summary>What the out-of-memory was seen as, or else the peak the verdict was read from.</summary>
    private static string Evidence(MeasuredCombination measured) => measured is { Oom: true, OutOfMemory: { } cause }
        ? cause
        : $"peak {ByteSize.FormatMiB(measured.PeakBytes)} of the card's {ByteSize.FormatMiB(measured.DeviceTotalBytes)}";
}

/// <summary>The outcome of a fit: the chosen plan (if any), every candidate, what would be needed otherwise, and the calibration every estimate carries.</summary>
public sealed record FitResult(FitRequest Request, Candidate? Plan, IReadOnlyList<Candidate> Candidates, long? SmallestBudgetThatFits)
{
    public Calibration Calibration { get; init; } = Calibration.None;
}
