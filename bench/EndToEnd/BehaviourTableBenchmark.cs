using System.Globalization;
using GpuSplit.Planner.Service;
using GpuSplit.Planner.Memory;
using GpuSplit.Testing.Immich;
using GpuSplit.Testing.Split;

namespace GpuSplit.Bench.EndToEnd;

/// <summary>
/// The seed story's behaviour table, measured for GpuSplit's shim and for nginx with the seed's config on the same
/// rig (a network-namespace GPU box with its own Docker engine, the ML stand-in container, the agent; see
/// tests/Testing/Split), with a load driver that behaves like Immich's microservices.
/// </summary>
public sealed class BehaviourTableBenchmark : IBenchmark
{
    private static readonly TimeSpan OffPeriod = TimeSpan.FromSeconds(30);

    public string Name => "behaviour-table";

    public async Task<BenchmarkReport> RunAsync(CancellationToken cancellationToken)
    {
        var settings = new TableSettings { OffPeriod = OffPeriod, HealthyAssets = 40, Bound = TimeSpan.FromSeconds(120) };
        var seed = settings with { Concurrency = JobConcurrency.Seed };
        var rows = new List<IReadOnlyList<string>>();
        foreach (var (label, table) in new[] { ($"Immich defaults {Short(settings.Concurrency)}", settings), ($"seed {Short(seed.Concurrency)}", seed) })
        {
            var healthy = await BehaviourTable.HealthyAsync([Route.Direct, Route.Shim, Route.Nginx], table, cancellationToken);
            var oom = await BothAsync(r => BehaviourTable.OutOfMemoryAsync(r, table, cancellationToken));
            var off = await BothAsync(r => BehaviourTable.OffAsync(r, table, cancellationToken));

            var direct = MedianMs(healthy.Single(h => h.Route == Route.Direct).Load.Jobs.Select(j => j.Latency));
            var title = $"1 on, healthy, {label}";
            rows.Add(Row(title, "jobs lost", healthy, h => h.Load, l => Lost(l)));
            rows.Add(Row(title, "median job, ms (direct to the box: " + Ms(direct) + ")", healthy, h => h.Load,
                l => $"{Ms(MedianMs(l.Jobs.Select(j => j.Latency)))} ({(MedianMs(l.Jobs.Select(j => j.Latency)) - direct).ToString("+0;-0;0", CultureInfo.InvariantCulture)})"));
            rows.Add(Row(title, "median search, ms", healthy, h => h.Load, l => Ms(MedianMs(l.Searches.Select(s => s.Wait)))));
            title = $"2 on, OOM kill then CUDA OOM line, {label}";
            rows.Add(Pair(title, "jobs lost", oom, r => Lost(r.Load) + LostTo(r.Load)));
            rows.Add(Pair(title, "searches answered", oom, r => $"{r.Load.Searches.Count(s => s.Answered200)} / {r.Load.Searches.Count}"));
            rows.Add(Pair(title, "worker serving again after OOM kill / CUDA OOM, s", oom,
                r => $"{Seconds(r.OomKillToServing)} / {Seconds(r.CudaOomToServing)}"));
            title = $"3 off {OffPeriod.TotalSeconds:0} s, {label}";
            rows.Add(Pair(title, "jobs lost", off, r => Lost(r.Load) + LostTo(r.Load)));
            rows.Add(Pair(title, "searches while off: answers", off, r => Answers(r.SearchesWhileOff)));
            rows.Add(Pair(title, "searches while off: median / max wait, ms", off,
                r => $"{Ms(MedianMs(r.SearchesWhileOff.Select(s => s.Wait)))} / {Ms(r.SearchesWhileOff.Select(s => s.Wait.TotalMilliseconds).DefaultIfEmpty(double.NaN).Max())}"));
            rows.Add(Pair(title, "failed connects nginx logged (3 s waits)", off, r => r.Route == Route.Nginx ? $"{r.NginxFailedConnects}" : "-"));
            rows.Add(Pair(title, "shim saw the box away after, s", off, r => r.Route == Route.Shim ? Seconds(r.ShimNoticed) : "-"));
            title = $"4 coming back, {label}";
            rows.Add(Pair(title, "jobs finished after the power came back", off, r => $"{r.Load.Jobs.Count(j => j.Ended >= r.PowerOn)}"));
            rows.Add(Pair(title, "first job completed after power on, s", off, r => Seconds(r.FirstCompletedAfterWake)));
            rows.Add(Pair(title, "queue drained after power on, s", off, r => Seconds(r.DrainedAfterWake)));
        }

        return new BenchmarkReport(
            "The seed's behaviour table: GpuSplit's shim beside nginx with the seed's config",
            ["row", "figure", "GpuSplit shim", "nginx (seed config)"],
            rows,
            [
                "Every part real: the GPU box is a network namespace with its own Docker engine running the ML stand-in (tests/MlStandIn) as a container "
                    + $"({settings.Rig.MemoryLimitMib} MiB cgroup limit, {settings.Rig.PredictDelayMs} ms per /predict) and the agent; shim and nginx run on the host. "
                    + "A fresh rig for every run; both proxies see the same events in the same benchmark run.",
                $"Load: Immich's microservices as the ML service sees them (tests/Testing/Immich): a queue per job with its concurrency, one multipart /predict per job "
                    + $"with a {PreviewJpeg.Default.Length / 1024} KiB 1920x1440 preview JPEG, a failed job dropped; row 1 queues {settings.HealthyAssets} assets at once, "
                    + $"rows 2-4 upload one asset every {settings.AssetInterval.TotalMilliseconds:0} ms and send a search every {settings.SearchInterval.TotalMilliseconds:0} ms.",
                $"Off: the box loses power {settings.LeadIn.TotalSeconds:0} s into the run for {OffPeriod.TotalSeconds:0} s: its link goes down, its agent "
                    + "dies and the ML container is killed (uploads stop when it comes back; what is then queued or held is the backlog row 4 drains). "
                    + "A powered-off box on the same LAN: new connects fail after about 3 s of unanswered ARP (nginx: its 3 s connect timeout 504 or "
                    + "EHOSTUNREACH 502), open connections stall. Power on: the link comes up and the agent boots; it starts the stopped ML container "
                    + "(compose's restart: \"no\"), so row 4 includes both start-ups.",
                $"Shim: its defaults except Shim:HoldLimit = {settings.Rig.HoldLimit.TotalSeconds:0} s. Figures are single runs on a shared 2-core machine: "
                    + "latencies move with the other load on it.",
            ]);
    }

    private static async Task<IReadOnlyList<T>> BothAsync<T>(Func<Route, Task<T>> run) => [await run(Route.Shim), await run(Route.Nginx)];

    private static IReadOnlyList<string> Row(string row, string figure, IReadOnlyList<HealthyRow> runs, Func<HealthyRow, LoadTally> load, Func<LoadTally, string> cell) =>
        [row, figure, cell(load(runs.Single(r => r.Route == Route.Shim))), cell(load(runs.Single(r => r.Route == Route.Nginx)))];

    private static IReadOnlyList<string> Pair<T>(string row, string figure, IReadOnlyList<T> runs, Func<T, string> cell) =>
        [row, figure, cell(runs[0]), cell(runs[1])];

    private static string Short(JobConcurrency c) => $"{c.SmartSearch}/{c.FaceDetection}/{c.Ocr}";

    private static string Lost(LoadTally load) => $"{load.Lost} / {load.Jobs.Count}";

    private static string LostTo(LoadTally load) =>
        load.Lost == 0 ? "" : " (" + string.Join(", ", load.Jobs.Where(j => !j.Completed).GroupBy(j => j.Status).OrderBy(g => g.Key)
            .Select(g => $"{g.Count()}x {(g.Key is { } s ? s.ToString(CultureInfo.InvariantCulture) : "no answer")}")) + ")";

    private static string Answers(IReadOnlyList<SearchOutcome> searches) =>
        searches.Count == 0 ? "none sent" : string.Join(", ", searches.GroupBy(s => s.Status).OrderBy(g => g.Key)
            .Select(g => $"{g.Count()}x {(g.Key is { } s ? s.ToString(CultureInfo.InvariantCulture) : "no answer")}"));

    private static double MedianMs(IEnumerable<TimeSpan> spans) => Stats.Median(spans.Select(s => s.TotalMilliseconds).ToList());

    private static string Ms(double ms) => double.IsNaN(ms) ? "-" : ms.ToString("0", CultureInfo.InvariantCulture);

    private static string Seconds(TimeSpan? span) => span is { } s ? s.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture) : "never";
}
