using System.Globalization;
using GpuSplit.Planner.Memory;
using GpuSplit.Planner.Units;

namespace GpuSplit.Planner.Fit;

/// <summary>One combination judged against the budget: by its measurement through Immich's service when there is one, else by the estimate.</summary>
/// <param name="Verdict">What the plan is chosen by: the measurement's when there is one.</param>
/// <param name="EstimatedVerdict">The estimate's own verdict, kept beside a measurement so a disagreement shows.</param>
/// <param name="Measured">The card's own run of this combination; null: the estimate decides.</param>
public sealed record Candidate(
    Combination Combination,
    MemoryEstimate Estimate,
    Verdict Verdict,
    long BudgetBytes,
    Verdict EstimatedVerdict,
    MeasuredCombination? Measured)
{
    public long PeakBytes => Measured?.PeakBytes ?? Estimate.PeakBytes;

    public long HeadroomBytes => BudgetBytes - PeakBytes;

    public bool Usable => Verdict >= Verdict.Fits;

    public FigureOrigin VerdictOrigin => Measured is null ? FigureOrigin.Estimate : FigureOrigin.Service;

    /// <summary>
    /// One line when the card and the estimate disagree: a self-hoster needs to know that the model's numbers were
    /// wrong for their card, and which way.
    /// </summary>
    public string? Disagreement => Measured is not { } measured || Verdict == EstimatedVerdict
        ? null
        : string.Create(CultureInfo.InvariantCulture,
            $"measured {Verdict.WireName()} on {measured.Device} ({Evidence(measured)}, {measured.MeasuredAt:yyyy-MM-dd}); the estimate said {EstimatedVerdict.WireName()} at {ByteSize.FormatMiB(Estimate.PeakBytes)}");

    /// <summary>What the out-of-memory was seen as, or else the peak the verdict was read from.</summary>
    private static string Evidence(MeasuredCombination measured) => measured is { Oom: true, OutOfMemory: { } cause }
        ? cause
        : $"peak {ByteSize.FormatMiB(measured.PeakBytes)} of the card's {ByteSize.FormatMiB(measured.DeviceTotalBytes)}";
}

/// <summary>The outcome of a fit: the chosen plan (if any), every candidate, and what would be needed otherwise.</summary>
public sealed record FitResult(FitRequest Request, Candidate? Plan, IReadOnlyList<Candidate> Candidates, long? SmallestBudgetThatFits);
