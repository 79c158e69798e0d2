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
/// What the shim does that the seed's nginx cannot, same machine, same run: the answer to a search while the box is
/// off, the time from the agent's SERVING to held jobs answered (after a restart, and after the box was off), and the
/// shim's memory with jobs held. The proxy overhead while the box serves is <see cref="ShimBenchmark"/>.
/// </summary>
public sealed class ShimAvailabilityBenchmark : IBenchmark
{
    private const string Title = "shim vs the seed's nginx: the box away, restarting and back";
    private const int AwaySearches = 200;
    private const int NginxAwaySearches = 3;
    private const int RestartRounds = 12;
    private const int WakeRounds = 3;
    private const int HeldPerRound = 8;
    private const int HeldForMemory = 64;
    private const string RestartReason = "worker restarting after CUDA out of memory";

    // Long enough for the watcher's reconnect back-off to reach its cap, as after a real night's sleep.
    private static readonly TimeSpan OffFor = TimeSpan.FromSeconds(10);

    public string Name => "shim-availability";

    public async Task<BenchmarkReport> RunAsync(CancellationToken cancellationToken)
    {
        if (!OperatingSystem.IsLinux())
        {
            return new BenchmarkReport(Title, ["measure"], [], ["Not run: this benchmark reads /proc and runs nginx, so it runs on Linux only."]);
        }

        var missing = new[] { "nginx" }.Where(p => !LocalProcesses.OnPath(p)).ToArray();
        if (missing.Length > 0)
        {
            return new BenchmarkReport(Title, ["measure"], [], [$"Not run: {string.Join(", ", missing)} not found (scripts/setup-test-host.sh installs it)."]);
        }

        return await MeasureAsync(cancellationToken);
    }

    private static async Task<BenchmarkReport> MeasureAsync(CancellationToken ct)
    {
        var jpeg = PreviewJpeg.Default;
        var rows = new List<IReadOnlyList<string>>();
        await using var ml = await MlStandIn.StartAsync(ct);

        // Off: a box that takes no connections at all, neither for its ML service nor for its agent.
        using (var off = new SleepingPort())
        {
            await using var nginxOff = await StartNginxAsync(off.Address, ct);
            await using var shimOff = await ShimProcess.StartAsync(off.Address, off.Address, ct);
            await ShimClient.WaitForStateAsync(shimOff.Address, "asleep", ct);
            var shimSearches = await ShimClient.TimeOneByOneAsync(shimOff.Address, () => ImmichPredictRequest.Search("birthday cake"), AwaySearches, ct);
            var nginxSearches = await ShimClient.TimeOneByOneAsync(nginxOff.BaseUri, () => ImmichPredictRequest.Search("birthday cake"), NginxAwaySearches, ct);
            rows.Add(["search query while the box is off: answer time p50 / max", Answers(nginxSearches), Answers(shimSearches)]);
            var nginxJobs = await ShimClient.TimeTogetherAsync(nginxOff.BaseUri, () => ImmichPredictRequest.Job(JobKind.SmartSearch, jpeg), HeldPerRound, ct);
            var shimJobs = await WakeRoundsAsync(jpeg, ct);
            rows.Add([$"{HeldPerRound} image jobs sent while the box is off",
                $"{nginxJobs.Count(j => j.Status >= 400)} of {HeldPerRound} failed ({Statuses(nginxJobs)}, after {Stats.Ms(Stats.Median(nginxJobs.Select(j => j.Ms).ToList()))} ms): Immich drops them",
                $"{shimJobs.Answered} of {shimJobs.Sent} held, then answered 200 when the box came back ({WakeRounds} rounds)"]);
            rows.Add(["box was off, its agent and ML service come back, the agent serving → first held job answered: p50 / max", "nothing is held",
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

        rows.Add([$"worker restarting, {HeldPerRound} jobs held, agent reports SERVING → first held job answered: p50 / p99", "nothing is held",
            $"{Stats.Ms(Stats.Median(first))} / {Stats.Ms(Stats.Percentile(first, 0.99))} ms"]);
        rows.Add([$"… → all {HeldPerRound} held jobs answered: p50 / p99", "-",
            $"{Stats.Ms(Stats.Median(all))} / {Stats.Ms(Stats.Percentile(all, 0.99))} ms ({answered} of {HeldPerRound * RestartRounds} answered 200)"]);

        var held = await MemoryWithHeldAsync(shimHold, restarting, jpeg, ct);
        rows.Add([$"resident memory with {HeldForMemory} image jobs held", "-", held.ToString()]);

        return new BenchmarkReport(Title, ["measure", "nginx, the seed's config", "GpuSplit shim"], rows,
        [
            "Each request a /predict form byte for byte as Immich builds it (a 446 KiB preview JPEG); the box's ML service is an in-process Kestrel stand-in that parses the form and answers Immich's JSON.",
            "nginx: the seed's config (1 worker, access_log off). Shim: the Native AOT executable as it ships (artifacts/native/shim), default settings, its own process.",
            $"\"Box off\": a loopback port whose accept queue is full, so connections hang as to a powered-off machine (a closed port would refuse at once). nginx waits its proxy_connect_timeout (3 s) for each request; the shim knows from the agent watch and answers a search 503 with Retry-After and the reason (n = {AwaySearches} shim, {NginxAwaySearches} nginx).",
            "Release times run from the call that makes the test agent report SERVING to the answers at the client: gRPC push, the shim's release, forwarding, the stand-in's work.",
            $"Box off and back: neither its agent nor its ML service takes a connection (with the ML service answering the shim forwards without the agent); the box stays off {OffFor.TotalSeconds:0} s per round, so the shim's agent watch is at its reconnect back-off cap (2 s, plus a 3 s connect attempt that hangs); the time to the first answer is mostly waiting for the next attempt.",
            "Resident memory from /proc: VmRSS, and in brackets RssAnon (private; the rest is the runtime's and libraries' mapped files).",
        ]);
    }

    /// <summary>
    /// The box is off (neither its agent nor its ML service takes a connection: with its ML service answering the shim
    /// would forward without the agent); jobs wait; both come back where the shim looks for them and the agent reports
    /// SERVING.
    /// </summary>
    private static async Task<(int Sent, int Answered, List<double> First)> WakeRoundsAsync(byte[] jpeg, CancellationToken ct)
    {
        var agentPort = FreePort.Next();
        var mlPort = FreePort.Next();
        var agentOff = new SleepingPort(agentPort);
        var mlOff = new SleepingPort(mlPort);
        await using var shim = await ShimProcess.StartAsync(mlOff.Address, agentOff.Address, ct);
        var first = new List<double>();
        var answered = 0;
        try
        {
            for (var round = 0; round < WakeRounds; round++)
            {
                await ShimClient.WaitForStateAsync(shim.Address, "asleep", ct);
                await Task.Delay(OffFor, ct);
                TestAgent? agent = null;
                MlStandIn? ml = null;
                var released = await HoldThenReleaseAsync(shim.Address, jpeg, async () =>
                {
                    mlOff.Dispose();
                    agentOff.Dispose();
                    ml = await MlStandIn.StartAsync(ct, mlPort);
                    agent = await TestAgent.StartAsync(ct, agentPort);
                    return Serve(agent);
                }, ct);
                await agent!.DisposeAsync();
                await ml!.DisposeAsync();
                agentOff = new SleepingPort(agentPort);
                mlOff = new SleepingPort(mlPort);
                first.Add(released.ToFirst);
                answered += released.Ok;
            }
        }
        finally
        {
            agentOff.Dispose();
            mlOff.Dispose();
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

    // The seed's config: one worker.
    private static Task<SeedNginx> StartNginxAsync(Uri upstream, CancellationToken ct) => SeedNginx.StartAsync(upstream.Host, upstream.Port, ct);

    private static string Answers(List<Answer> answers)
    {
        var times = answers.Select(a => a.Ms).ToList();
        return $"{Stats.Ms(Stats.Median(times))} / {Stats.Ms(times.Max())} ms ({Statuses(answers)})";
    }

    private static string Statuses(List<Answer> answers) =>
        string.Join(", ", answers.GroupBy(a => a.Status).Select(g => $"{g.Count()}× {g.Key}"));
}
