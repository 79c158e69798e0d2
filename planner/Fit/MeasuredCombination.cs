using GpuSplit.Planner.Memory;

namespace GpuSplit.Planner.Fit;

/// <summary>
/// A combination that `planner measure --service --combination` ran on a card through Immich's own ML service: one
/// worker, every job at its concurrency at once. It is the seed story's attempt performed for real, so `planner fit`
/// takes its verdict from it rather than from the estimate.
/// </summary>
/// <param name="Device">The card's NVML name, as `planner fit --gpu` names it.</param>
/// <param name="Models">CLIP, faces, then OCR when there is one, as the catalog names them.</param>
/// <param name="Concurrency">The jobs' concurrency as <see cref="JobConcurrency.ToString"/> writes it.</param>
/// <param name="Oom">The card ran out of memory: no budget makes that combination fit on it.</param>
/// <param name="OutOfMemory">What showed it (an error answer, a dropped connection, the log line), when something did.</param>
/// <param name="PeakBytes">The worker's highest GPU memory.</param>
/// <param name="DeviceTotalBytes">The card's memory, which may differ from the budget `planner fit` is given.</param>
public sealed record MeasuredCombination(
    string Device,
    IReadOnlyList<string> Models,
    string Concurrency,
    bool Oom,
    string? OutOfMemory,
    long PeakBytes,
    long DeviceTotalBytes,
    string Runtime,
    DateTimeOffset MeasuredAt)
{
    /// <summary>
    /// The same models in the same order, at the same concurrency, on the fit's card, with one worker: the service runs
    /// one worker, and a second one is a second copy of every model and context that this run never saw.
    /// </summary>
    public bool Applies(Combination combination, FitRequest request) =>
        request.Workers == 1
        && string.Equals(Device, request.Gpu, StringComparison.Ordinal)
        && string.Equals(Concurrency, request.Concurrency.ToString(), StringComparison.Ordinal)
        && Models.SequenceEqual(combination.Models.Select(m => m.Name), StringComparer.Ordinal);
}
