using GpuSplit.Planner.Catalog;
using GpuSplit.Planner.Evidence;
using GpuSplit.Planner.Memory;

namespace GpuSplit.Planner.Fit;

/// <summary>Everything `planner fit` decides with.</summary>
/// <param name="Gpu">The GPU name whose measured figures to prefer over estimates, if any.</param>
public sealed record FitRequest(
    ModelCatalog Catalog,
    long BudgetBytes,
    int Workers,
    int TtlSeconds,
    double HeadroomShare,
    JobConcurrency Concurrency,
    bool RequireOcr,
    bool Multilingual,
    string? Gpu,
    RuntimeCosts Costs)
{
    /// <summary>Combinations run through Immich's ML service, on any card; a fit uses those that apply to it.</summary>
    public IReadOnlyList<MeasuredCombination> MeasuredCombinations { get; init; } = [];

    /// <summary>Field reports of what combinations did on real cards: the seed's, the user's files, the agent's. They calibrate every estimate.</summary>
    public IReadOnlyList<EvidenceEntry> Evidence { get; init; } = [];
}
