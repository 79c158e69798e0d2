using GpuSplit.Planner.Fit;
using GpuSplit.Planner.Memory;
using GpuSplit.Planner.Units;

namespace GpuSplit.Planner.Evidence;

/// <summary>
/// Derives the smallest correction that agrees with every field report, as a share s of the terms the model cannot
/// bound (U: activations and ratchet). With E the estimate of a record's combination and V its card:
/// <list type="bullet">
/// <item>oom or unstable (the real worst-case peak went past the card): E + s·U &gt; V, so s ≥ (V + 1 MiB − E) / U;</item>
/// <item>works (it held under load): E + s·U ≤ V, so s ≤ (V − E) / U;</item>
/// <item>comfortable (a quarter of the card stayed free): E + s·U ≤ ¾V.</item>
/// </list>
/// s is the largest lower bound (never below 0: every term the model misses adds memory, and a correction never
/// lowers an estimate). A record it then breaks is reported as a contradiction, with the other record or the model
/// it disagrees with; a failure always wins, so the planner never recommends what ran out of memory. A pure function.
/// </summary>
public static class CalibrationSolver
{
    /// <summary>How far past the card a failed record's calibrated peak must be: it went over, not up to, the card.</summary>
    public const long Over = ByteSize.MiB;

    public static Calibration Solve(IReadOnlyList<EvidenceBound> bounds)
    {
        var used = bounds.Where(b => b.NotUsed is null).ToList();
        var lower = used
            .Where(b => b.Entry.Record.Outcome.Failed() && b.UnboundedBytes > 0 && Lacking(b) > 0)
            .ToList();

        // The largest of the fractions lacking ÷ unbounded, compared exactly by cross-multiplying.
        var top = lower.Aggregate((EvidenceBound?)null, (best, b) => best is null || Above(b, best) ? b : best);
        var setBy = top is null ? [] : lower.Where(b => !Above(b, top) && !Above(top, b)).ToList();
        var calibration = top is null ? Calibration.None : new Calibration(Lacking(top), top.UnboundedBytes, []);
        var checks = bounds.Select(b => b.NotUsed is not null
                ? new EvidenceCheck(b, null, false, null)
                : new EvidenceCheck(b, b.EstimatedPeakBytes + calibration.Correction(b.UnboundedBytes), setBy.Contains(b), null))
            .Select(c => c with { Contradiction = c.Used ? Contradiction(c, used, setBy) : null })
            .ToList();
        return calibration with { Checks = checks };
    }

    /// <summary>What a failed record's estimate lacks to be over its card.</summary>
    private static long Lacking(EvidenceBound bound) => bound.CardBytes + Over - bound.EstimatedPeakBytes;

    private static bool Above(EvidenceBound a, EvidenceBound b) => (Int128)Lacking(a) * b.UnboundedBytes > (Int128)Lacking(b) * a.UnboundedBytes;

    /// <summary>The highest peak the record allows its combination: its card, or three quarters of it.</summary>
    public static long Limit(EvidenceBound bound) => bound.Entry.Record.Outcome == EvidenceOutcome.Comfortable
        ? (long)(bound.CardBytes * (1 - VerdictPolicy.ComfortableFreeShare))
        : bound.CardBytes;

    private static string? Contradiction(EvidenceCheck check, IReadOnlyList<EvidenceBound> used, IReadOnlyList<EvidenceBound> setBy)
    {
        var bound = check.Bound;
        var record = bound.Entry.Record;
        var calibrated = check.CalibratedPeakBytes!.Value;
        if (record.Outcome.Failed())
        {
            return calibrated > bound.CardBytes
                ? null
                : $"it ran out of memory on {ByteSize.FormatMiB(bound.CardBytes)}, yet the estimate is {ByteSize.FormatMiB(bound.EstimatedPeakBytes)} with no activations or ratchet to correct: the model misses a term the calibration cannot reach";
        }

        var limit = Limit(bound);
        var held = record.Outcome == EvidenceOutcome.Comfortable ? $"held a quarter of {ByteSize.FormatMiB(bound.CardBytes)} free" : $"held on {ByteSize.FormatMiB(bound.CardBytes)}";
        if (bound.EstimatedPeakBytes > limit)
        {
            return $"it {held}, yet the estimate alone is {ByteSize.FormatMiB(bound.EstimatedPeakBytes)}: the model overestimates this combination, and the calibration never lowers an estimate";
        }

        if (calibrated <= limit)
        {
            return null;
        }

        var failedAlike = used.FirstOrDefault(other => other.Entry.Record.Outcome.Failed() && SameModels(other.Entry.Record, record)
            && AtMost(other.Entry.Record.Workers, other.Concurrency, record.Workers, bound.Concurrency) && other.CardBytes >= bound.CardBytes);
        return failedAlike is not null
            ? $"it {held}, but {Describe(failedAlike)} ran out of memory with the same models at the same or a lighter load on a card as large"
            : $"it {held}, but the correction the failed records need ({string.Join("; ", setBy.Select(Describe))}) puts it at {ByteSize.FormatMiB(calibrated)}: "
                + "these records disagree under a correction in proportion to activations and ratchet";
    }

    /// <summary>The same models for each job, named as the catalog finds them (case aside).</summary>
    public static bool SameModels(EvidenceRecord record, string clip, string? face, string? ocr) =>
        string.Equals(record.Clip, clip, StringComparison.OrdinalIgnoreCase)
        && string.Equals(record.FacialRecognition, face, StringComparison.OrdinalIgnoreCase)
        && string.Equals(record.Ocr, ocr, StringComparison.OrdinalIgnoreCase);

    /// <summary>A load no heavier than another: no more workers, no more of any job at once.</summary>
    public static bool AtMost(int workers, JobConcurrency concurrency, int otherWorkers, JobConcurrency other) =>
        workers <= otherWorkers
        && concurrency.SmartSearch <= other.SmartSearch
        && concurrency.FaceDetection <= other.FaceDetection
        && concurrency.Ocr <= other.Ocr;

    private static bool SameModels(EvidenceRecord a, EvidenceRecord b) => SameModels(a, b.Clip, b.FacialRecognition, b.Ocr);

    private static string Describe(EvidenceBound bound) => $"'{bound.Entry.Record.Source}' ({bound.Entry.From})";
}
