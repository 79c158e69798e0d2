using GpuSplit.Planner.Memory;
using GpuSplit.Testing.Immich;
using GpuSplit.Testing.Nginx;
using GpuSplit.Testing.Processes;

namespace GpuSplit.Testing.Split;

/// <summary>How the seed's behaviour table is played; the defaults are the test's shortened version.</summary>
public sealed record TableSettings
{
    public JobConcurrency Concurrency { get; init; } = JobConcurrency.ImmichDefaults;

    /// <summary>Assets (each one job of every kind) in the healthy row, after a short warm-up.</summary>
    public int HealthyAssets { get; init; } = 20;

    /// <summary>Uploads arrive one asset per interval while the box misbehaves.</summary>
    public TimeSpan AssetInterval { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>A person searches again this long after the last answer.</summary>
    public TimeSpan SearchInterval { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Normal work before the box is switched off or runs out of memory.</summary>
    public TimeSpan LeadIn { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How long the box stays off (the 60 s, shortened for tests).</summary>
    public TimeSpan OffPeriod { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>Bound on every wait for the box's worker to come back or the queues to drain.</summary>
    public TimeSpan Bound { get; init; } = TimeSpan.FromSeconds(90);

    public SplitRigOptions Rig { get; init; } = new();
}

/// <summary>What one run of the load driver came to.</summary>
public sealed record LoadTally(IReadOnlyList<JobOutcome> Jobs, IReadOnlyList<SearchOutcome> Searches, int Pending)
{
    public int Completed => Jobs.Count(j => j.Completed);

    public int Lost => Jobs.Count(j => !j.Completed);

    public static LoadTally Of(MicroservicesLoad load) => new(load.Jobs, load.Searches, load.Pending);
}

/// <summary>Row 1: on and healthy.</summary>
public sealed record HealthyRow(Route Route, LoadTally Load);

// Parts: the agent's and the shim's output (SplitRig.Describe), to explain a figure or a failure.

/// <summary>
/// Row 2: on, out of memory: a real cgroup OOM kill, later a CUDA out-of-memory line; the agent restarts the worker
/// each time (seen as a new start time on the box's engine), and it answers /ping again after the given times.
/// </summary>
/// <param name="HeldOrReplayed">Jobs the shim held or sent again while the worker was away (its status totals); 0 through nginx.</param>
public sealed record OutOfMemoryRow(Route Route, LoadTally Load, TimeSpan OomKillToServing, TimeSpan CudaOomToServing, long HeldOrReplayed, string Parts);

/// <summary>Rows 3 and 4: off for a fixed period (link down, agent and ML container gone), then powered on again.</summary>
public sealed record OffRow(
    Route Route,
    LoadTally Load,
    TimeSpan PowerOff,
    TimeSpan PowerOn,
    int NginxFailedConnects,
    TimeSpan? ShimNoticed,
    string Parts)
{
    /// <summary>Searches sent while the box was off: after its link was down (<see cref="PowerOff"/>), before the power came back.</summary>
    public IReadOnlyList<SearchOutcome> SearchesWhileOff => [.. Load.Searches.Where(s => s.Sent >= PowerOff && s.Sent < PowerOn)];

    /// <summary>From the power coming back to the first job completed after it (the agent and the ML container boot first).</summary>
    public TimeSpan? FirstCompletedAfterWake =>
        Load.Jobs.Where(j => j.Completed && j.Ended >= PowerOn).Select(j => (TimeSpan?)(j.Ended - PowerOn)).Min();

    /// <summary>From the power coming back to the last job ended: the held and queued work drained (null if it never did).</summary>
    public TimeSpan? DrainedAfterWake => Load.Pending == 0 && Load.Jobs.Count > 0 ? Load.Jobs.Max(j => j.Ended) - PowerOn : null;
}

/// <summary>
/// The seed story's behaviour table played against the real split (<see cref="SplitRig"/>), one route at a time on
/// a fresh rig, with the load driver standing in for Immich's microservices. Shared by the end-to-end tests (which
/// assert GpuSplit's promises) and bench/ (which prints the figures side by side).
/// </summary>
public static class BehaviourTable
{
    /// <summary>Row 1 for every route on one rig: a warm-up, then <see cref="TableSettings.HealthyAssets"/> assets.</summary>
    public static async Task<IReadOnlyList<HealthyRow>> HealthyAsync(IEnumerable<Route> routes, TableSettings settings, CancellationToken cancellationToken)
    {
        await using var rig = await SplitRig.StartAsync(settings.Rig, cancellationToken);
        var rows = new List<HealthyRow>();
        foreach (var route in routes)
        {
            await using (var warmUp = new MicroservicesLoad(new LoadOptions(rig.Entry(route)) { Concurrency = settings.Concurrency }))
            {
                warmUp.AddAssets(2);
                await DrainAsync(warmUp, rig, settings.Bound, cancellationToken);
            }

            await using var load = new MicroservicesLoad(Options(rig, route, settings));
            load.AddAssets(settings.HealthyAssets);
            await DrainAsync(load, rig, settings.Bound, cancellationToken);
            rows.Add(new HealthyRow(route, LoadTally.Of(load)));
        }

        return rows;
    }

    /// <summary>Row 2: uploads keep coming while the worker is OOM-killed, restarted, then stuck after a CUDA OOM line and restarted.</summary>
    public static async Task<OutOfMemoryRow> OutOfMemoryAsync(Route route, TableSettings settings, CancellationToken cancellationToken)
    {
        await using var rig = await SplitRig.StartAsync(settings.Rig, cancellationToken);
        await using var load = new MicroservicesLoad(Options(rig, route, settings));
        using var uploads = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var arrivals = UploadAsync(load, settings.AssetInterval, uploads.Token);
        try
        {
            await Task.Delay(settings.LeadIn, cancellationToken);
            var oomKill = await RestartAfterAsync(rig, "oom-kill", null, settings.Bound, cancellationToken);
            await Task.Delay(settings.LeadIn, cancellationToken);
            var cudaOom = await RestartAfterAsync(rig, "cuda-oom", "cuda", settings.Bound, cancellationToken);
            await Task.Delay(settings.LeadIn, cancellationToken);
            await uploads.CancelAsync();
            await arrivals;
            await DrainAsync(load, rig, settings.Bound, cancellationToken);
            var held = 0L;
            if (route == Route.Shim)
            {
                var totals = (await rig.ShimStatusAsync(cancellationToken)).GetProperty("totals");
                held = totals.GetProperty("held").GetInt64() + totals.GetProperty("replayed").GetInt64();
            }

            return new OutOfMemoryRow(route, LoadTally.Of(load), oomKill, cudaOom, held, rig.Describe());
        }
        finally
        {
            await uploads.CancelAsync();
            await arrivals;
        }
    }

    /// <summary>
    /// Rows 3 and 4: uploads and searches go on while the box is off for <see cref="TableSettings.OffPeriod"/> (its link
    /// down, its agent and ML container gone); then it is powered on, boots its agent, which starts the container, and
    /// the queue drains.
    /// </summary>
    public static async Task<OffRow> OffAsync(Route route, TableSettings settings, CancellationToken cancellationToken)
    {
        await using var rig = await SplitRig.StartAsync(settings.Rig, cancellationToken);
        await using var load = new MicroservicesLoad(Options(rig, route, settings));
        using var uploads = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var arrivals = UploadAsync(load, settings.AssetInterval, uploads.Token);
        try
        {
            await Task.Delay(settings.LeadIn, cancellationToken);
            // The outage starts when the link is down, not when it was asked for: a search sent just before that is
            // answered by the box, rightly.
            TimeSpan? cut = null;
            await rig.PowerOffAsync(() => cut = load.Now, cancellationToken);
            var down = cut!.Value;
            TimeSpan? noticed = null;
            var clock = System.Diagnostics.Stopwatch.StartNew();
            while (clock.Elapsed < settings.OffPeriod)
            {
                if (noticed is null && await rig.ShimJobsStateAsync(cancellationToken) == "held")
                {
                    noticed = load.Now - down;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(100), cancellationToken);
            }

            // Uploads stop with the outage: what is queued or held now is the backlog whose draining row 4 times.
            await uploads.CancelAsync();
            await arrivals;
            var up = load.Now;
            await rig.PowerOnAsync(cancellationToken);
            await DrainAsync(load, rig, settings.Rig.HoldLimit + settings.Bound, cancellationToken);
            var failedConnects = rig.Nginx.CountErrorLog(SeedNginx.ConnectTimeoutLine) + rig.Nginx.CountErrorLog(SeedNginx.NoRouteLine);
            return new OffRow(route, LoadTally.Of(load), down, up, failedConnects, noticed, rig.Describe());
        }
        finally
        {
            await uploads.CancelAsync();
            await arrivals;
        }
    }

    private static LoadOptions Options(SplitRig rig, Route route, TableSettings settings) =>
        new(rig.Entry(route)) { Concurrency = settings.Concurrency, SearchInterval = settings.SearchInterval };

    private static async Task UploadAsync(MicroservicesLoad load, TimeSpan interval, CancellationToken stop)
    {
        try
        {
            while (!stop.IsCancellationRequested)
            {
                load.AddAssets(1);
                await Task.Delay(interval, stop);
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
        }
    }

    /// <summary>Tells the worker to fail, waits until its engine restarted it and it answers /ping again; returns how long that took.</summary>
    private static async Task<TimeSpan> RestartAfterAsync(SplitRig rig, string action, string? argument, TimeSpan bound, CancellationToken cancellationToken)
    {
        var before = await rig.WorkerStartedAtAsync();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await rig.Ml.ControlAsync(action, argument);
        try
        {
            await Waiting.UntilAsync(rig.WorkerStartedAtAsync, started => started > before, bound,
                $"the agent to restart the worker after {action}", TimeSpan.FromMilliseconds(100), cancellationToken);
            await rig.Ml.WaitForPingAsync(bound);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}\n{rig.Describe()}", e);
        }

        return clock.Elapsed;
    }

    private static async Task DrainAsync(MicroservicesLoad load, SplitRig rig, TimeSpan bound, CancellationToken cancellationToken)
    {
        if (!await load.WaitUntilDrainedAsync(bound, cancellationToken))
        {
            throw new TimeoutException($"{load.Pending} jobs still pending after {bound.TotalSeconds:0} s\n{rig.Describe()}");
        }
    }
}
