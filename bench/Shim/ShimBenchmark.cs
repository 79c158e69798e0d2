using System.Globalization;
using GpuSplit.Testing.Nginx;
using GpuSplit.Testing.Shim;

namespace GpuSplit.Bench.Shim;

/// <summary>
/// The shim's cost as a proxy while the box serves, against the seed's nginx in the same run: wrk posts Immich's
/// /predict forms through each proxy to one upstream of its own (nginx answering a fixed Immich JSON), the proxies
/// interleaved in rounds with their order rotated, and each round's shim/nginx ratios kept, so that the noise of a
/// shared machine falls on both sides of a ratio alike. After every load the errors and the shim's own lost and
/// rejected counters are read: a fast proxy that drops work is no result. At 1 connection the latency goals are judged
/// on <see cref="LatencyProbe"/>'s figures: wrk's own tail there is larger than the proxies' (a calibration against the
/// upstream alone, every round, shows it).
/// </summary>
public sealed class ShimBenchmark : IBenchmark
{
    private const string Title = "shim vs the seed's nginx: proxy cost while the box serves";
    private const int Rounds = 4;
    private const string Anchor = "nginx, seed config (1 worker)";
    private static readonly TimeSpan Duration = TimeSpan.FromSeconds(3);
    private static readonly TimeSpan WarmUp = TimeSpan.FromSeconds(1);

    // Immich runs 2/2/1 or 3/3/1 ML jobs at once: 1 and 8 connections are what the goals hold for, 64 is a stress row.
    private static readonly Goal RequestsGoal = new("req/s", 0.95, AtLeast: true);
    private static readonly Goal P50Goal = new("p50", 1.1, AtLeast: false);
    private static readonly Goal P99Goal = new("p99", 1.3, AtLeast: false);
    private static readonly Goal CpuGoal = new("CPU", 1.2, AtLeast: false);

    public string Name => "shim";

    public async Task<BenchmarkReport> RunAsync(CancellationToken cancellationToken)
    {
        if (!OperatingSystem.IsLinux())
        {
            return new BenchmarkReport(Title, ["measure"], [], ["Not run: this benchmark reads /proc and runs nginx and wrk, so it runs on Linux only."]);
        }

        var missing = new[] { "nginx", "wrk" }.Where(p => !LocalProcesses.OnPath(p)).ToArray();
        if (missing.Length > 0)
        {
            return new BenchmarkReport(Title, ["measure"], [], [$"Not run: {string.Join(", ", missing)} not found (scripts/setup-test-host.sh installs them)."]);
        }

        var work = Directory.CreateTempSubdirectory("bench-shim-");
        try
        {
            return await MeasureAsync(work, cancellationToken);
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    private static async Task<BenchmarkReport> MeasureAsync(DirectoryInfo work, CancellationToken ct)
    {
        var image = await ImmichForms.WriteAsync(work, "image", ImmichForms.ImageJob(), ct);
        var search = await ImmichForms.WriteAsync(work, "search", ImmichForms.Search(), ct);
        var imageScript = await Wrk.ScriptAsync(image.Path, image.ContentType, ct);
        var searchScript = await Wrk.ScriptAsync(search.Path, search.ContentType, ct);
        var imageLabel = $"image job ({new FileInfo(image.Path).Length / 1000} KB form)";
        // The clients' own share is timed on the search at 1 connection: the smallest request, where it weighs most.
        var calibration = new Load("search query, 1 connection", search, searchScript, 1, Goals: true);
        Load[] loads =
        [
            new($"{imageLabel}, 1 connection", image, imageScript, 1, Goals: true),
            new($"{imageLabel}, 8 connections", image, imageScript, 8, Goals: true),
            calibration,
            new("search query, 8 connections", search, searchScript, 8, Goals: true),
            new($"{imageLabel}, 64 connections (stress)", image, imageScript, 64, Goals: false),
        ];

        await using var upstream = await FixedAnswerNginx.StartAsync(ct);
        await using var agent = await TestAgent.StartAsync(ct);
        agent.Serve();
        await using var shim = await ShimProcess.StartAsync(upstream.Address, agent.Address, ct);
        await ShimClient.WaitForStateAsync(shim.Address, "online", ct);
        var upstreamHost = upstream.Address.Host;
        await using var nginx1 = await SeedNginx.StartAsync(upstreamHost, upstream.Address.Port, ct);
        await using var nginxAuto = await SeedNginx.StartAsync(upstreamHost, upstream.Address.Port, ct, workerProcesses: "auto");
        Target[] targets =
        [
            new(Anchor, nginx1.BaseUri, () => LocalProcesses.CpuTime(nginx1.ProcessId, withChildren: true), null),
            new("nginx, worker_processes auto", nginxAuto.BaseUri, () => LocalProcesses.CpuTime(nginxAuto.ProcessId, withChildren: true), null),
            new("GpuSplit shim", shim.Address, () => shim.CpuTime, shim.Address),
        ];

        // JIT and connection pools warm on every load before anything counts: the figures are a long-running proxy's
        // steady state, not its first minute.
        foreach (var target in targets)
        {
            foreach (var load in loads)
            {
                await Wrk.RunAsync(target.Address, load.Script, load.Connections, WarmUp, ct);
                if (load.Probed)
                {
                    await LatencyProbe.RunAsync(target.Address, load.Form.Path, load.Form.ContentType, WarmUp, ct);
                }
            }
        }

        var samples = new Dictionary<(Load, Target, int), Sample>();
        var loadAverages = new List<string>();
        var counterReads = 0;
        var collectionsPer1000 = new Dictionary<(Load, int), double>();
        var counterTrouble = new List<string>();
        var calibrations = new List<(WrkResult Wrk, ProbeResult Probe)>();
        var counters = await ShimClient.SettledCountersAsync(shim.Address, ct);
        for (var round = 0; round < Rounds; round++)
        {
            loadAverages.Add(LocalProcesses.LoadAverage().ToString("0.00", CultureInfo.InvariantCulture));
            foreach (var load in loads)
            {
                foreach (var target in Rotate(targets, round))
                {
                    // Read before the CPU window opens (and after it closes): a scrape is not the load's work.
                    var collections = target.Status is { } shimAddress ? await ShimClient.CollectionsAsync(shimAddress, ct) : 0;
                    var before = target.Cpu();
                    var result = await Wrk.RunAsync(target.Address, load.Script, load.Connections, Duration, ct);
                    var cpu = target.Cpu() - before;
                    var collected = target.Status is { } counted ? await ShimClient.CollectionsAsync(counted, ct) - collections : 0;
                    // After wrk's CPU window: the probe's requests are not in the CPU per request.
                    var probe = load.Probed ? await LatencyProbe.RunAsync(target.Address, load.Form.Path, load.Form.ContentType, Duration, ct) : null;
                    var sample = new Sample(result, cpu, probe);
                    samples[(load, target, round)] = sample;
                    if (target.Status is { } status)
                    {
                        collectionsPer1000[(load, round)] = collected * 1000.0 / result.Requests;
                        var after = await ShimClient.SettledCountersAsync(status, ct);
                        counterReads++;
                        if (after != counters)
                        {
                            counterTrouble.Add($"round {round + 1}, {load.Label}: lost +{after.Lost - counters.Lost}, rejected +{after.Rejected - counters.Rejected}");
                        }

                        counters = after;
                    }

                    Console.Error.WriteLine(
                        $"bench: shim: round {round + 1} {load.Label} {target.Name}: {result.RequestsPerSecond:0} req/s, p50 {Stats.Ms(result.P50Ms)} ms, " +
                        $"p99 {Stats.Ms(result.P99Ms)} ms, CPU {sample.CpuMsPer1000:0} ms/1000, non-2xx {result.NotOk}, socket errors {result.SocketErrors}" +
                        (probe is null ? "" : $"; probe p50 {Stats.Ms(probe.P50Ms)} ms, p99 {Stats.Ms(probe.P99Ms)} ms, non-2xx {probe.NotOk}"));
                }
            }

            // The clients' own share: both straight to the upstream, no proxy between.
            calibrations.Add((
                await Wrk.RunAsync(upstream.Address, calibration.Script, 1, Duration, ct),
                await LatencyProbe.RunAsync(upstream.Address, calibration.Form.Path, calibration.Form.ContentType, Duration, ct)));
        }

        var rows = new List<IReadOnlyList<string>>();
        foreach (var load in loads)
        {
            foreach (var target in targets)
            {
                var runs = Enumerable.Range(0, Rounds).Select(r => samples[(load, target, r)]).ToList();
                rows.Add([
                    load.Label, target.Name,
                    Median(runs, s => s.Wrk.RequestsPerSecond, "0"),
                    Median(runs, s => s.Wrk.P50Ms, "0.000"),
                    Median(runs, s => s.Wrk.P99Ms, "0.000"),
                    load.Probed ? $"{Median(runs, s => s.Probe!.P50Ms, "0.000")} / {Median(runs, s => s.Probe!.P99Ms, "0.000")}" : "–",
                    Median(runs, s => s.CpuMsPer1000, "0"),
                    $"{runs.Sum(s => s.Wrk.NotOk + (s.Probe?.NotOk ?? 0))} / {runs.Sum(s => s.Wrk.SocketErrors)}",
                ]);
            }

            var shimRuns = Enumerable.Range(0, Rounds).Select(r => samples[(load, targets[2], r)]).ToList();
            var anchorRuns = Enumerable.Range(0, Rounds).Select(r => samples[(load, targets[0], r)]).ToList();
            var requests = Ratios(shimRuns, anchorRuns, s => s.Wrk.RequestsPerSecond);
            var wrkP50 = Ratios(shimRuns, anchorRuns, s => s.Wrk.P50Ms);
            var wrkP99 = Ratios(shimRuns, anchorRuns, s => s.Wrk.P99Ms);
            var cpu = Ratios(shimRuns, anchorRuns, s => s.CpuMsPer1000);
            var probeP50 = load.Probed ? Ratios(shimRuns, anchorRuns, s => s.Probe!.P50Ms) : null;
            var probeP99 = load.Probed ? Ratios(shimRuns, anchorRuns, s => s.Probe!.P99Ms) : null;
            // Latency is judged on the probe where it ran (1 connection), on wrk otherwise.
            var judged = new[]
            {
                (Goal: RequestsGoal, Values: requests),
                (Goal: P50Goal, Values: probeP50 ?? wrkP50),
                (Goal: P99Goal, Values: probeP99 ?? wrkP99),
                (Goal: CpuGoal, Values: cpu),
            };
            rows.Add([
                load.Label, $"**shim / {Anchor}**: median (rounds)",
                RatioCell(requests), RatioCell(wrkP50), RatioCell(wrkP99),
                probeP50 is null ? "–" : $"{RatioCell(probeP50)} / {RatioCell(probeP99!)}",
                RatioCell(cpu),
                load.Goals ? Verdict(judged.Select(r => (r.Goal, Stats.Median(r.Values)))) : "stress row, no goal",
            ]);
        }

        var totals = $"lost {counters.Lost}, rejected {counters.Rejected} at the end";
        return new BenchmarkReport(Title, ["load", "target", "req/s", "p50 ms", "p99 ms", "probe p50 / p99 ms", "CPU ms per 1,000 requests", "non-2xx / socket errors"], rows,
        [
            $"Method: {Rounds} rounds; in each, every load runs against every target for {Duration.TotalSeconds:0} s (wrk --latency, 1 thread for 1 connection, 2 for more, kept-alive connections), " +
                "the targets' order rotated by one each round. Figures per target are the median of its rounds; a ratio row holds the median of the per-round shim/nginx ratios, each round's ratio in brackets. " +
                $"Every target had a {WarmUp.TotalSeconds:0} s warm-up on every load first.",
            $"Probe: at 1 connection each wrk run is followed by {Duration.TotalSeconds:0} s of the benchmark's own one-by-one client (bench/Shim/LatencyProbe.cs: one kept-alive connection, " +
                "blocking socket calls on a thread of its own, nothing allocated per request), timing each request from its send to its answer's last byte; " +
                "its p50 and p99 columns, and its non-2xx count added to wrk's. CPU per request is wrk's window only.",
            "Goals (issue 14), for 1 and 8 connections: req/s ≥ 0.95×, p50 ≤ 1.1×, p99 ≤ 1.3×, CPU per request ≤ 1.2× the seed's nginx; " +
                "at 1 connection p50 and p99 are judged on the probe, at 8 on wrk.",
            $"The clients' own tails, {calibration.Label}, straight to the upstream nginx with no proxy between (once per round; medians): " +
                $"wrk p50 {Stats.Ms(Stats.Median([.. calibrations.Select(c => c.Wrk.P50Ms)]))} ms, p99 {Stats.Ms(Stats.Median([.. calibrations.Select(c => c.Wrk.P99Ms)]))} ms; " +
                $"probe p50 {Stats.Ms(Stats.Median([.. calibrations.Select(c => c.Probe.P50Ms)]))} ms, p99 {Stats.Ms(Stats.Median([.. calibrations.Select(c => c.Probe.P99Ms)]))} ms. " +
                "A client's own stalls land on top of each proxy's time, at a percentile that depends on the proxy (docs/shim.md, \"The 1-connection tail\"): hence the probe for the 1-connection latency goals.",
            "Requests: /predict forms byte for byte as Immich builds them (a smart-search job with a ~100 KB JPEG preview; a search query). " +
                "The upstream is its own nginx process (1 worker) that reads each body and answers Immich's CLIP JSON (5.9 KB) from a file, kept-alive; " +
                "a test agent in the benchmark process reports the box SERVING to the shim.",
            "CPU: utime + stime from /proc/PID/stat of the proxy (the shim's one process; nginx's master and workers) before and after each run, per 1,000 requests; 10 ms ticks.",
            $"Targets: the seed's nginx config (its upstream block and timeouts verbatim, worker_processes 1 as the seed runs it, access_log off); the same with worker_processes auto (one per core); " +
                "the shim, the Native AOT executable as it ships (artifacts/native/shim), its default settings, its own process.",
            $"Machine load (1-minute load average) at the start of each round: {string.Join(", ", loadAverages)} on {Environment.ProcessorCount} cores, shared with other work: absolute figures move with it, the ratios much less.",
            counterTrouble.Count == 0
                ? $"The shim's lost and rejected counters (/status.json) were read after each of its {counterReads} loads, once it had no request in flight: they did not move ({totals})."
                : $"The shim's lost or rejected counters (/status.json, read after each of its {counterReads} loads once it had no request in flight) moved: {string.Join("; ", counterTrouble)} ({totals}). " +
                    "wrk ends a run by closing its connections with requests in flight; the shim counts such a request cut short by its client as rejected (a body cut short while the form's start was read) or as a lost job (cut short while forwarded).",
            "The shim's garbage collections per 1,000 requests (its /metrics, read around each load; the median of the rounds): " +
                string.Join("; ", loads.Select(l => $"{l.Label} {Stats.Median([.. Enumerable.Range(0, Rounds).Select(r => collectionsPer1000[(l, r)])]).ToString("0.00", CultureInfo.InvariantCulture)}")) + ".",
            $"Shim resident memory after all loads: {shim.Memory}; nginx (1 worker) {LocalProcesses.Memory(nginx1.ProcessId, withChildren: true)}.",
        ]);
    }

    private static IEnumerable<Target> Rotate(Target[] targets, int round) =>
        targets.Skip(round % targets.Length).Concat(targets.Take(round % targets.Length));

    private static List<double> Ratios(List<Sample> shim, List<Sample> anchor, Func<Sample, double> figure) =>
        [.. shim.Zip(anchor, (s, a) => figure(s) / figure(a))];

    private static string Median(List<Sample> runs, Func<Sample, double> figure, string format) =>
        Stats.Median(runs.Select(figure).ToList()).ToString(format, CultureInfo.InvariantCulture);

    private static string RatioCell(List<double> ratios) =>
        $"{Stats.Median(ratios).ToString("0.00", CultureInfo.InvariantCulture)} ({string.Join(", ", ratios.Select(r => r.ToString("0.00", CultureInfo.InvariantCulture)))})";

    private static string Verdict(IEnumerable<(Goal Goal, double Ratio)> ratios)
    {
        var missed = ratios.Where(r => r.Goal.AtLeast ? r.Ratio < r.Goal.Limit : r.Ratio > r.Goal.Limit).Select(r => r.Goal.Name).ToList();
        return missed.Count == 0 ? "goals met" : $"missed: {string.Join(", ", missed)}";
    }

    /// <param name="Form">The request body's file and Content-Type, for the probe; <paramref name="Script"/> posts the same for wrk.</param>
    private sealed record Load(string Label, (string Path, string ContentType) Form, string Script, int Connections, bool Goals)
    {
        /// <summary>At 1 connection the probe times the load too.</summary>
        public bool Probed => Connections == 1;
    }

    /// <param name="Status">The shim's address for its counters; null for nginx, which keeps none.</param>
    private sealed record Target(string Name, Uri Address, Func<TimeSpan> Cpu, Uri? Status);

    private sealed record Sample(WrkResult Wrk, TimeSpan Cpu, ProbeResult? Probe)
    {
        public double CpuMsPer1000 => Wrk.Requests == 0 ? double.NaN : Cpu.TotalMilliseconds * 1000 / Wrk.Requests;
    }

    /// <summary>A goal on the shim/nginx ratio: at least, or at most, <paramref name="Limit"/>.</summary>
    private sealed record Goal(string Name, double Limit, bool AtLeast);
}
