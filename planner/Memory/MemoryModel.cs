namespace GpuSplit.Planner.Memory;

/// <summary>
/// Predicts the peak VRAM of Immich's ML service for a set of loaded components. A pure function: it loads
/// nothing and reads nothing, so the same inputs always give the same, explainable answer. The code that
/// measures models only feeds it better inputs.
/// </summary>
public static class MemoryModel
{
    /// <remarks>
    /// The worst case of the seed story: every selected job runs at once at its full concurrency, and the
    /// model TTL never gets to unload anything (work keeps arriving), so the arenas are at their high-water mark.
    /// </remarks>
    public static MemoryEstimate Estimate(
        IReadOnlyList<ComponentLoad> components,
        JobConcurrency concurrency,
        int workers,
        RuntimeCosts costs)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(workers, 1);
        var estimates = components
            .Select(load =>
            {
                var inFlight = load.ConcurrencyIn(concurrency);
                return new ComponentEstimate(load, inFlight, load.WeightsBytes, load.PerRequestBytes * inFlight, load.RatchetBytes);
            })
            .ToList();
        return new MemoryEstimate(workers, costs.CudaContextBytes, costs.ReserveBytes, estimates);
    }
}
