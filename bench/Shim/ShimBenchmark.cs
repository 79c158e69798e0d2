using System.Diagnostics;
using System.Globalization;
using System.Net;
using GpuSplit.Planner.Service;
using GpuSplit.Protos.V1;
using GpuSplit.Testing.Immich;
using GpuSplit.Testing.Network;
using GpuSplit.Testing.Nginx;
using GpuSplit.Testing.Shim;

namespace GpuSplit.Bench.Shim;

/// <summary>
/// The shim against the seed's nginx, same machine, same run: proxy overhead while the box serves (wrk on
/// loopback), the answer to a search while the box is off, the time from the agent's SERVING to held jobs
/// answered (after a restart, and after the box was off), and the shim's memory.
/// </summary>
public sealed class ShimBenchmark : IBenchmark
{
    private const string Title = "shim vs the seed's nginx";
    private const int Connections = 8;
    private const int AwaySearches = 200;
    private const int NginxAwaySearches = 3;
    private const int RestartRounds = 20;
    private const int WakeRounds = 4;
    private const int HeldPerRound = 8;
    private const int HeldForMemory = 64;
    private const string RestartReason = "worker restarting after CUDA out of memory";
    private static readonly TimeSpan LoadDuration = TimeSpan.FromSeconds(8);

    // Long enough for the watcher's reconnect back-off to reach its cap, as after a real night's sleep.
    private static readonly TimeSpan OffFor = TimeSpan.FromSeconds(10);

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
        var jpeg = PreviewJpeg.Default;
        var search = await FormFileAsync(work, "search", ImmichPredictRequest.Search("a red bicycle by the sea"), ct);
        var image = await FormFileAsync(work, "image", ImmichPredictRequest.Job(JobKind.SmartSearch, jpeg), ct);
        var rows = new List<IReadOnlyList<string>>();

        // Serving: the same stand-in reached directly, through nginx and through the shim.
        await using var ml = await MlStandIn.StartAsync(ct);
        await using var agent = await TestAgent.StartAsync(ct);
        agent.Serve();
        await using var shim = await ShimProcess.StartAsync(ml.Address, agent.Address, ct);
        await ShimClient.WaitForStateAsync(shim.Address, "online", ct);
        await using var nginx = await StartNginxAsync(ml.Address, ct);
        var idle = (Nginx: NginxMemory(nginx), Shim: shim.Memory);
        var peak = (Nginx: default(Resident), Shim: default(Resident));
        foreach (var (label, form) in new[] { ("search query", search), ($"image job ({jpeg.Length / 1024} KiB JPEG)", image) })
        {
            var direct = await Wrk.RunAsync(ml.Address, form.Path, form.ContentType, Connections, LoadDuration, ct);
            var (viaNginx, nginxPeak) = await WhileSamplingAsync(() => NginxMemory(nginx),
                () => Wrk.RunAsync(nginx.BaseUri, form.Path, form.ContentType, Connections, LoadDuration, ct));
            var (viaShim, shimPeak) = await WhileSamplingAsync(() => shim.Memory,
                () => Wrk.RunAsync(shim.Address, form.Path, form.ContentType, Connections, LoadDuration, ct));
            ml.Calls.Clear();
            peak = (Resident.Max(peak.Nginx, nginxPeak), Resident.Max(peak.Shim, shimPeak));
            rows.Add([$"{label}, box serving: latency p50 / p99", Latency(direct), Latency(viaNginx), Latency(viaShim)]);
            rows.Add([$"{label}, box serving: throughput", Throughput(direct), Throughput(viaNginx), Throughput(viaShim)]);
        }

        // Off: a box that takes no connections at all, neither for its ML service nor for its agent.
        using (var off = new SleepingPort())
        {
            await using var nginxOff = await StartNginxAsync(off.Address, ct);
            await using var shimOff = await ShimProcess.StartAsync(off.Address, off.Address, ct);
            await ShimClient.WaitForStateAsync(shimOff.Address, "asleep", ct);
            var shimSearches = await ShimClient.TimeOneByOneAsync(shimOff.Address, () => ImmichPredictRequest.Search("birthday cake"), AwaySearches, ct);
            var nginxSearches = await ShimClient.TimeOneByOneAsync(nginxOff.BaseUri, () => ImmichPredictRequest.Search("birthday cake"), NginxAwaySearches, ct);
            rows.Add(["search query while the box is off: answer time p50 / max", "-", Answers(nginxSearches), Answers(shimSearches)]);
            var nginxJobs = await ShimClient.TimeTogetherAsync(nginxOff.BaseUri, () => ImmichPredictRequest.Job(JobKind.SmartSearch, jpeg), HeldPerRound, ct);
            var shimJobs = await WakeRoundsAsync(ml.Address, jpeg, ct);
            rows.Add([$"{HeldPerRound} image jobs sent while the box is off", "-",
                $"{nginxJobs.Count(j => j.Status >= 400)} of {HeldPerRound} failed ({Statuses(nginxJobs)}, after {Stats.Ms(Stats.Median(nginxJobs.Select(j => j.Ms).ToList()))} ms): Immich drops them",
                $"{shimJobs.Answered} of {shimJobs.Sent} held, then answered 200 when the box came back ({WakeRounds} rounds)"]);
            rows.Add(["box was off, its agent comes back serving → first held job answered: p50 / max", "-", "nothing is held",
                $"{Stats.Ms(Stats.Median(shimJobs.First))} / {Stats.Ms(shimJobs.First.Max())} ms"]);
        }

        // Restart: the agent is up and says NOT_SERVING (worker restarting), then SERVING.
        await using var restarting = await TestAgent.StartAsync(ct);
        restarting.NotServing(WorkerState.Restarting, RestartReason);
        await using var shimHold = await ShimProcess.StartAsync(ml.Address, restarting.Address, ct);
        await ShimClient.WaitForStateAsync(shimHold.Address, "restarting", ct);
        var first = new List<double>();
        var all = new List<double>();
        var answered = 0;
        for (var round = 0; round < RestartRounds; round++)
        {
            var released = await HoldThenReleaseAsync(shimHold.Address, jpeg, () => Task.FromResult(Serve(restarting)), ct);
            restarting.NotServing(WorkerState.Restarting, RestartReason);
            await ShimClient.WaitForStateAsync(shimHold.Address, "restarting", ct);
            first.Add(released.ToFirst);
            all.Add(released.ToAll);
            answered += released.Ok;
        }

        rows.Add([$"worker restarting, {HeldPerRound} jobs held, agent reports SERVING → first held job answered: p50 / p99", "-", "nothing is held",
            $"{Stats.Ms(Stats.Median(first))} / {Stats.Ms(Stats.Percentile(first, 0.99))} ms"]);
        rows.Add([$"… → all {HeldPerRound} held jobs answered: p50 / p99", "-", "-",
            $"{Stats.Ms(Stats.Median(all))} / {Stats.Ms(Stats.Percentile(all, 0.99))} ms ({answered} of {HeldPerRound * RestartRounds} answered 200)"]);

        var held = await MemoryWithHeldAsync(shimHold, restarting, jpeg, ct);
        rows.Add(["resident memory, idle after start", "-", idle.Nginx.ToString(), idle.Shim.ToString()]);
        rows.Add(["resident memory, peak during the wrk runs", "-", peak.Nginx.ToString(), peak.Shim.ToString()]);
        rows.Add([$"resident memory with {HeldForMemory} image jobs held", "-", "-", held.ToString()]);

        return new BenchmarkReport(Title, ["measure", "direct to the box (no proxy)", "nginx, the seed's config", "GpuSplit shim"], rows,
        [
            $"wrk -t2 -c{Connections} -d{LoadDuration.TotalSeconds:0}s --latency on loopback, each request a /predict form byte for byte as Immich builds it; " +
                "the box is an in-process Kestrel stand-in that parses the form and answers Immich's JSON (a 512-float CLIP embedding).",
            "Everything runs on the same 2-core machine in the same run (wrk, nginx, the shim and the stand-in compete for the cores, and other work shares the machine): compare the columns, not the absolute figures.",
            "nginx: the seed's upstream block and timeouts verbatim, worker_processes auto, access_log off. Shim: Release build, default settings.",
            $"\"Box off\": a loopback port whose accept queue is full, so connections hang as to a powered-off machine (a closed port would refuse at once). nginx waits its proxy_connect_timeout (3 s) for each request; the shim knows from the agent watch and answers a search 503 with Retry-After and the reason (n = {AwaySearches} shim, {NginxAwaySearches} nginx).",
            "Release times run from the call that makes the test agent report SERVING to the answers at the client: gRPC push, the shim's release, forwarding, the stand-in's work.",
            $"Box off and back: the box stays off {OffFor.TotalSeconds:0} s per round, so the shim's agent watch is at its reconnect back-off cap (2 s, plus a 3 s connect attempt that hangs); the time to the first answer is mostly waiting for the next attempt.",
            "Resident memory from /proc: VmRSS, and in brackets RssAnon (private; the rest is the runtime's and libraries' mapped files). nginx = master + workers. Peaks sampled every 100 ms.",
        ]);
    }

    /// <summary>The box is off; jobs wait; its agent comes back where the shim looks for it and reports SERVING.</summary>
    private static async Task<(int Sent, int Answered, List<double> First)> WakeRoundsAsync(Uri ml, byte[] jpeg, CancellationToken ct)
    {
        var agentPort = FreePort.Next();
        var off = new SleepingPort(agentPort);
        await using var shim = await ShimProcess.StartAsync(ml, off.Address, ct);
        var first = new List<double>();
        var answered = 0;
        try
        {
            for (var round = 0; round < WakeRounds; round++)
            {
                await ShimClient.WaitForStateAsync(shim.Address, "asleep", ct);
                await Task.Delay(OffFor, ct);
                TestAgent? agent = null;
                var released = await HoldThenReleaseAsync(shim.Address, jpeg, async () =>
                {
                    off.Dispose();
                    agent = await TestAgent.StartAsync(ct, agentPort);
                    return Serve(agent);
                }, ct);
                await agent!.DisposeAsync();
                off = new SleepingPort(agentPort);
                first.Add(released.ToFirst);
                answered += released.Ok;
            }
        }
        finally
        {
            off.Dispose();
        }

        return (HeldPerRound * WakeRounds, answered, first);
    }

    /// <summary>The moment the agent is told to report SERVING (a Stopwatch timestamp).</summary>
    private static long Serve(TestAgent agent)
    {
        var now = Stopwatch.GetTimestamp();
        agent.Serve();
        return now;
    }

    /// <param name="serve">Brings the box back and returns the timestamp of its SERVING report.</param>
    private static async Task<(double ToFirst, double ToAll, int Ok)> HoldThenReleaseAsync(Uri shim, byte[] jpeg, Func<Task<long>> serve, CancellationToken ct)
    {
        using var client = ShimClient.Create(shim);
        var jobs = Enumerable.Range(0, HeldPerRound).Select(_ => client.SendAsync(ImmichPredictRequest.Job(JobKind.SmartSearch, jpeg), ct)).ToList();
        await ShimClient.WaitForHeldAsync(shim, HeldPerRound, ct);
        var serving = await serve();
        await Task.WhenAny(jobs);
        var toFirst = Stopwatch.GetElapsedTime(serving).TotalMilliseconds;
        var responses = await Task.WhenAll(jobs);
        var toAll = Stopwatch.GetElapsedTime(serving).TotalMilliseconds;
        var ok = responses.Count(r => r.StatusCode == HttpStatusCode.OK);
        foreach (var response in responses)
        {
            response.Dispose();
        }

        return (toFirst, toAll, ok);
    }

    private static async Task<Resident> MemoryWithHeldAsync(ShimProcess shim, TestAgent agent, byte[] jpeg, CancellationToken ct)
    {
        using var client = ShimClient.Create(shim.Address);
        var jobs = Enumerable.Range(0, HeldForMemory).Select(_ => client.SendAsync(ImmichPredictRequest.Job(JobKind.SmartSearch, jpeg), ct)).ToArray();
        await ShimClient.WaitForHeldAsync(shim.Address, HeldForMemory, ct);
        // Let the held requests' bodies arrive as far as the shim takes them in.
        await Task.Delay(500, ct);
        var memory = shim.Memory;
        agent.Serve();
        foreach (var response in await Task.WhenAll(jobs))
        {
            response.Dispose();
        }

        return memory;
    }

    private static async Task<(T Result, Resident Peak)> WhileSamplingAsync<T>(Func<Resident> memory, Func<Task<T>> load)
    {
        using var stop = new CancellationTokenSource();
        var peak = default(Resident);
        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                peak = Resident.Max(peak, memory());
                await Task.Delay(100, CancellationToken.None);
            }
        }, CancellationToken.None);
        var result = await load();
        await stop.CancelAsync();
        await sampler;
        return (result, peak);
    }

    // worker_processes auto, as in nginx's image: one worker per core for the throughput runs.
    private static Task<SeedNginx> StartNginxAsync(Uri upstream, CancellationToken ct) =>
        SeedNginx.StartAsync(upstream.Host, upstream.Port, ct, workerProcesses: "auto");

    private static Resident NginxMemory(SeedNginx nginx) => LocalProcesses.Memory(nginx.ProcessId, withChildren: true);

    private static async Task<(string Path, string ContentType)> FormFileAsync(DirectoryInfo work, string name, HttpRequestMessage predict, CancellationToken ct)
    {
        using var request = predict;
        var path = Path.Combine(work.FullName, name + ".form");
        await File.WriteAllBytesAsync(path, await request.Content!.ReadAsByteArrayAsync(ct), ct);
        return (path, request.Content.Headers.ContentType!.ToString());
    }

    private static string Latency(WrkResult r) =>
        $"{Stats.Ms(r.P50Ms)} / {Stats.Ms(r.P99Ms)} ms" + (r.NotOk > 0 ? $" ({r.NotOk} not 2xx)" : "");

    private static string Throughput(WrkResult r) => $"{r.RequestsPerSecond.ToString("0", CultureInfo.InvariantCulture)} req/s";

    private static string Answers(List<Answer> answers)
    {
        var times = answers.Select(a => a.Ms).ToList();
        return $"{Stats.Ms(Stats.Median(times))} / {Stats.Ms(times.Max())} ms ({Statuses(answers)})";
    }

    private static string Statuses(List<Answer> answers) =>
        string.Join(", ", answers.GroupBy(a => a.Status).Select(g => $"{g.Count()}× {g.Key}"));
}
