using GpuSplit.Planner.Catalog;
using GpuSplit.Planner.Fit;
using GpuSplit.Planner.Measure;

namespace GpuSplit.Planner.Service;

/// <summary>A service run as the measurements file keeps it: method `service`, the ML image as the runtime.</summary>
public static class ServiceEntries
{
    /// <exception cref="MeasureException">The worker never showed on a GPU, so there is no card to file the figures under.</exception>
    public static MeasurementUpdate ToUpdate(this ServiceRun run) => new(
        run.Device ?? throw new MeasureException("the worker never held GPU memory, so there is no card to file figures under"),
        ServiceRun.Method,
        run.Image,
        run.MemoryMethod,
        run.MeasuredAt,
        run.ContextBytes,
        run.Image,
        [.. run.Components.Select(c => Component(c, run))],
        run.Combination is { } combination ? [Combination(combination, run)] : []);

    public static ComponentEntry Component(ServiceComponent c, ServiceRun run) => new()
    {
        Model = c.Model,
        Task = c.Task.WireName(),
        Type = c.Type.WireName(),
        Share = new ShareFigures { LoadedBytes = c.WeightsBytes, PeakBytes = c.PeakShareBytes, LoadPeakBytes = c.PeakShareBytes },
        Process = new ProcessFigures
        {
            BeforeLoadBytes = c.BeforeBytes,
            AfterLoadBytes = c.AfterLoadBytes,
            LoadPeakBytes = c.AfterLoadBytes,
            PeakBytes = c.PeakBytes,
            DevicePeakBytes = c.DevicePeakBytes,
        },
        Burst = new BurstFigures
        {
            Concurrency = c.BurstConcurrency,
            JobConcurrency = c.JobConcurrency,
            Requests = c.BurstRequests,
            GrowthBytes = c.PeakBytes - c.AfterLoadBytes,
            JobPeakBytes = c.JobPeakShareBytes,
            Seconds = Math.Round(c.BurstTime.TotalSeconds, 3),
        },
        IncludesContext = c.IncludesContext,
        LoadSeconds = Math.Round(c.LoadTime.TotalSeconds, 3),
        RunSeconds = Math.Round(c.BurstTime.TotalSeconds, 3),
        Runtime = run.Image,
        MeasuredAt = run.MeasuredAt,
    };

    public static CombinationEntry Combination(CombinationResult c, ServiceRun run) => new()
    {
        Models = [.. c.Models.Select(m => m.Name)],
        Concurrency = c.Concurrency.ToString(),
        Seconds = Math.Round(c.Duration.TotalSeconds, 1),
        Verdict = c.Verdict.WireName(),
        PeakBytes = c.PeakBytes,
        DevicePeakBytes = c.DevicePeakBytes,
        DeviceTotalBytes = c.DeviceTotalBytes,
        Requests = c.Requests,
        OutOfMemory = c.OutOfMemory,
        Runtime = run.Image,
        MeasuredAt = run.MeasuredAt,
    };
}
