using GpuSplit.Planner.Memory;

namespace GpuSplit.Planner.Fit;

public sealed record Candidate(Combination Combination, MemoryEstimate Estimate, Verdict Verdict, long BudgetBytes)
{
    public long PeakBytes => Estimate.PeakBytes;

    public long HeadroomBytes => BudgetBytes - PeakBytes;

    public bool Usable => Verdict >= Verdict.Fits;
}

/// <summary>The outcome of a fit: the chosen plan (if any), every candidate, and what would be needed otherwise.</summary>
public sealed record FitResult(FitRequest Request, Candidate? Plan, IReadOnlyList<Candidate> Candidates, long? SmallestBudgetThatFits);
