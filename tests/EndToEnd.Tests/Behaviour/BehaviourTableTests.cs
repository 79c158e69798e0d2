using System.Globalization;
using GpuSplit.Testing.Immich;
using GpuSplit.Testing.Split;

namespace GpuSplit.EndToEnd.Tests.Behaviour;

/// <summary>
/// The seed story's behaviour table, every part real (<see cref="SplitRig"/>): what GpuSplit promises is asserted;
/// nginx with the seed's config runs the same events in the same test and its figures are reported beside.
/// </summary>
public sealed class BehaviourTableTests
{
    private static readonly TableSettings Settings = new();

    [Fact]
    public async Task Row1_on_and_healthy_every_job_completes_through_the_box_the_shim_and_nginx()
    {
        var rows = await BehaviourTable.HealthyAsync([Route.Direct, Route.Shim, Route.Nginx], Settings, TestContext.Current.CancellationToken);

        foreach (var row in rows)
        {
            Report($"row 1 {row.Route}: {Describe(row.Load)}");
            Assert.Equal(0, row.Load.Lost);
            Assert.Equal(0, row.Load.Pending);
            Assert.Equal(Settings.HealthyAssets * 3, row.Load.Completed);
            Assert.All(row.Load.Searches, s => Assert.True(s.Answered200, $"search answered {s.Status} {s.Error}"));
        }

        var direct = Median(rows.Single(r => r.Route == Route.Direct).Load.Jobs.Select(j => j.Latency));
        var shim = Median(rows.Single(r => r.Route == Route.Shim).Load.Jobs.Select(j => j.Latency));
        Report($"row 1: the shim adds {Ms(shim - direct)} to the median job ({Ms(direct)} direct, {Ms(shim)} through the shim)");
    }

    [Fact]
    public async Task Row2_on_out_of_memory_no_job_is_lost_through_the_shim_while_the_agent_restarts_the_worker_twice()
    {
        var ct = TestContext.Current.CancellationToken;
        var shim = await BehaviourTable.OutOfMemoryAsync(Route.Shim, Settings, ct);
        var nginx = await BehaviourTable.OutOfMemoryAsync(Route.Nginx, Settings, ct);
        foreach (var row in new[] { shim, nginx })
        {
            Report($"row 2 {row.Route}: {Describe(row.Load)}; OOM kill to serving {Ms(row.OomKillToServing)}, CUDA OOM line to serving {Ms(row.CudaOomToServing)}");
        }

        Report(shim.Parts);

        Assert.Equal(0, shim.Load.Lost);
        Assert.Equal(0, shim.Load.Pending);
        Assert.True(shim.Load.Completed > 0);
        // Not lost because they waited: jobs met the restarts and were held or sent again.
        Assert.True(shim.HeldOrReplayed > 0, $"no job was held or replayed during two restarts ({Describe(shim.Load)})");
        // The anchor: the same events cost nginx jobs, so they did hit traffic; a zero above is not a quiet run.
        Assert.True(nginx.Load.Lost > 0, $"nginx lost no job: the failures never met a request ({Describe(nginx.Load)})");
    }

    [Fact]
    public async Task Row3_and_4_off_then_back_the_shim_holds_jobs_answers_searches_at_once_and_drains_when_the_box_returns()
    {
        var ct = TestContext.Current.CancellationToken;
        var shim = await BehaviourTable.OffAsync(Route.Shim, Settings, ct);
        var nginx = await BehaviourTable.OffAsync(Route.Nginx, Settings, ct);
        foreach (var row in new[] { shim, nginx })
        {
            Report($"row 3 {row.Route}: off {Ms(row.PowerOn - row.PowerOff)}; {Describe(row.Load)}; searches while off: "
                + string.Join(", ", row.SearchesWhileOff.Select(s => $"{s.Status?.ToString(CultureInfo.InvariantCulture) ?? s.Error} in {Ms(s.Wait)}"))
                + (row.Route == Route.Nginx ? $"; nginx logged {row.NginxFailedConnects} failed connects" : $"; the shim noticed after {Ms(row.ShimNoticed)}"));
            Report($"row 4 {row.Route}: first job completed {Ms(row.FirstCompletedAfterWake)} after the power came back, queue drained after {Ms(row.DrainedAfterWake)}");
        }

        Report(shim.Parts);

        Assert.Equal(0, shim.Load.Lost);
        Assert.Equal(0, shim.Load.Pending);
        Assert.NotNull(shim.ShimNoticed);
        var afterNoticed = shim.SearchesWhileOff.Where(s => s.Sent >= shim.PowerOff + shim.ShimNoticed!.Value).ToList();
        Assert.NotEmpty(afterNoticed);
        // Refused at once, not after a connect attempt: nginx's 3 s connect timeout is the slow case this replaces.
        Assert.All(afterNoticed, s => Assert.Equal(503, s.Status));
        Assert.All(afterNoticed, s => Assert.True(s.Wait < TimeSpan.FromSeconds(1), $"a search waited {Ms(s.Wait)} for its 503"));
        // Even the searches sent before the shim noticed (the agent's missed heartbeats) end sooner than nginx's 3 s
        // connect timeout, and none is forwarded to wait on the dead link.
        Assert.All(shim.SearchesWhileOff, s => Assert.Equal(503, s.Status));
        Assert.All(shim.SearchesWhileOff, s => Assert.True(s.Wait < TimeSpan.FromSeconds(3), $"a search waited {Ms(s.Wait)} for its 503"));
        Assert.NotNull(shim.FirstCompletedAfterWake);
        Assert.NotNull(shim.DrainedAfterWake);

        Assert.True(nginx.Load.Lost > 0, $"nginx lost no job: the outage never met a request ({Describe(nginx.Load)})");
        Assert.True(nginx.NginxFailedConnects > 0);
    }

    private static string Describe(LoadTally load) =>
        $"{load.Completed} completed, {load.Lost} lost ("
        + string.Join(", ", Enum.GetValues<JobKind>().Select(k => $"{k} {load.Jobs.Count(j => j.Kind == k && !j.Completed)}"))
        + $"), {load.Pending} pending; median job {Ms(Median(load.Jobs.Select(j => j.Latency)))}; {load.Searches.Count} searches, "
        + $"{load.Searches.Count(s => s.Answered200)} answered"
        + (load.Lost == 0 ? "" : "; lost to: " + string.Join(", ", load.Jobs.Where(j => !j.Completed).GroupBy(j => j.Error).Select(g => $"{g.Count()}x {g.Key}")));

    private static TimeSpan Median(IEnumerable<TimeSpan> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count == 0 ? TimeSpan.Zero : sorted[(sorted.Count - 1) / 2];
    }

    private static string Ms(TimeSpan? span) =>
        span is { } s ? s.TotalMilliseconds.ToString("0", CultureInfo.InvariantCulture) + " ms" : "never";

    private static void Report(string line) => TestContext.Current.TestOutputHelper?.WriteLine(line);
}
