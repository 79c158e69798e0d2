using GpuSplit.Planner.Catalog;
using GpuSplit.Planner.Fit;
using GpuSplit.Planner.Measure;
using GpuSplit.Planner.Memory;

namespace GpuSplit.Planner.Service;

/// <summary>What `planner measure --service` is asked to do.</summary>
/// <param name="Models">Measured one at a time, each in a freshly restarted worker.</param>
/// <param name="Combination">Loaded together in one worker and run at once for <paramref name="CombinationTime"/>; null: none.</param>
/// <param name="Image">The preview JPEG every image request carries.</param>
/// <param name="BurstRounds">Requests each of a burst's concurrent senders makes, one after another.</param>
public sealed record ServicePlan(
    IReadOnlyList<CatalogModel> Models,
    IReadOnlyList<CatalogModel>? Combination,
    JobConcurrency Concurrency,
    TimeSpan CombinationTime,
    byte[] Image,
    int BurstRounds = 3);

/// <summary>
/// One component measured through the service. A /predict loads a component and runs it once, so the worker's growth
/// after it is the weights and one request (<see cref="AfterLoadBytes"/> − <see cref="BeforeBytes"/>); a burst of
/// <see cref="BurstConcurrency"/> requests at once then adds (concurrency − 1) more requests' memory to its arena, which
/// splits the two. The first component of a fresh worker also brought the worker's CUDA context: subtracted when the
/// run could measure it, otherwise <see cref="IncludesContext"/>.
/// </summary>
public sealed record ServiceComponent(
    string Model,
    ModelTask Task,
    ComponentType Type,
    long BeforeBytes,
    long AfterLoadBytes,
    long PeakBytes,
    long? DevicePeakBytes,
    long WeightsBytes,
    long PerRequestBytes,
    int BurstConcurrency,
    int JobConcurrency,
    int BurstRequests,
    bool IncludesContext,
    TimeSpan LoadTime,
    TimeSpan BurstTime)
{
    /// <summary>The weights and one request in flight: `planner fit`'s per-component peak.</summary>
    public long PeakShareBytes => WeightsBytes + PerRequestBytes;

    /// <summary>The weights and the job's concurrency of requests in flight.</summary>
    public long JobPeakShareBytes => WeightsBytes + (PerRequestBytes * JobConcurrency);

    public string Label => $"{Task.WireName()}/{Model}/{Type.WireName()}";
}

/// <summary>A combination loaded in one worker and run with every job at its concurrency at once for <paramref name="Duration"/>.</summary>
/// <param name="OutOfMemory">Why it counts as a CUDA out-of-memory (an error answer, a dropped connection, the log line); null when none.</param>
public sealed record CombinationResult(
    IReadOnlyList<CatalogModel> Models,
    JobConcurrency Concurrency,
    TimeSpan Duration,
    Verdict Verdict,
    long PeakBytes,
    long? DevicePeakBytes,
    long DeviceTotalBytes,
    int Requests,
    string? OutOfMemory)
{
    public string Label => string.Join(" + ", Models.Select(m => m.Name));
}

/// <summary>A whole `planner measure --service` run.</summary>
/// <param name="Device">The card's NVML name (the measurements file's key); null when the worker never showed on a GPU.</param>
/// <param name="ContextBytes">The worker's CUDA context; null when the run could not tell it from a first model.</param>
public sealed record ServiceRun(
    string? Device,
    string Image,
    string MemoryMethod,
    DateTimeOffset MeasuredAt,
    long? ContextBytes,
    IReadOnlyList<ServiceComponent> Components,
    CombinationResult? Combination,
    IReadOnlyList<MeasureFailure> Failures)
{
    public const string Method = "service";
}

/// <summary>Shows a step of a long measurement while it runs.</summary>
public interface IStepProgress
{
    Task<T> StepAsync<T>(string label, Func<Task<T>> work);
}
