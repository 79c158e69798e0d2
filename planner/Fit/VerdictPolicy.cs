namespace GpuSplit.Planner.Fit;

/// <summary>Classifies a predicted peak against the card's budget.</summary>
public static class VerdictPolicy
{
    /// <summary>The share of the card that must stay free to call a plan comfortable.</summary>
    public const double ComfortableFreeShare = 0.25;

    public static Verdict Classify(long peakBytes, long budgetBytes, double headroomShare)
    {
        var free = budgetBytes - peakBytes;
        if (free < 0)
        {
            return Verdict.Oom;
        }

        if (free < headroomShare * budgetBytes)
        {
            return Verdict.Unstable;
        }

        return free >= ComfortableFreeShare * budgetBytes ? Verdict.Comfortable : Verdict.Fits;
    }

    /// <summary>The smallest card on which <paramref name="peakBytes"/> would at least fit with the headroom kept.</summary>
    public static long SmallestBudgetThatFits(long peakBytes, double headroomShare) =>
        (long)Math.Ceiling(peakBytes / (1 - headroomShare));
}
