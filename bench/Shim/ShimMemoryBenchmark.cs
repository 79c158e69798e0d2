using System.Globalization;
using System.Net;
using GpuSplit.Testing.Network;
using GpuSplit.Testing.Shim;

namespace GpuSplit.Bench.Shim;

/// <summary>
/// The shim's memory as a plain process: started, 5 s idle, its resident memory read; then 2,000 image jobs
/// (~100 KB each) at 8 at a time through it, and read again. With its agent serving, or with no agent running at all
/// (the box's ML service answering): the always-on box runs it all day either way.
/// </summary>
public sealed class ShimMemoryBenchmark(bool withAgent) : IBenchmark
{
    private const int Jobs = 2000;
    private const int Concurrency = 8;
    private const double IdleGoalMiB = 48;
    private const double LoadedGoalMiB = 64;
    private static readonly TimeSpan Idle = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan ForwardingWait = TimeSpan.FromSeconds(30);

    public string Name => withAgent ? "shim-memory" : "shim-memory-no-agent";

    private string Title => withAgent
        ? "shim memory as a process: idle, then 2,000 image jobs (agent serving)"
        : "shim memory as a process: idle, then 2,000 image jobs (no agent running)";

    public async Task<BenchmarkReport> RunAsync(CancellationToken cancellationToken)
    {
        if (!OperatingSystem.IsLinux() || !LocalProcesses.OnPath("nginx"))
        {
            return new BenchmarkReport(Title, ["figure"], [], ["Not run: this benchmark reads /proc and runs nginx (scripts/setup-test-host.sh installs it), so it runs on Linux only."]);
        }

        await using var upstream = await FixedAnswerNginx.StartAsync(cancellationToken);
        await using var agent = withAgent ? await TestAgent.StartAsync(cancellationToken) : null;
        agent?.Serve();
        // No agent: a loopback port nobody listens on, so every connection to it is refused.
        var agentAddress = agent?.Address ?? new Uri($"http://127.0.0.1:{FreePort.Next()}");
        await using var shim = await ShimProcess.StartAsync(upstream.Address, agentAddress, cancellationToken);
        await Task.Delay(Idle, cancellationToken);
        var idle = shim.Memory;

        if (!await ForwardsAsync(shim.Address, cancellationToken))
        {
            return new BenchmarkReport(Title, ["figure", "shim"], [["resident memory, 5 s idle after start", idle.ToString()]],
            [
                $"Not run further: the shim answered no search with 200 within {ForwardingWait.TotalSeconds:0} s" +
                    (withAgent ? "." : " with no agent running (it forwards without an agent only where the \"no single point of failure\" change is in)."),
            ]);
        }

        var cpuBefore = shim.CpuTime;
        var (statuses, peak) = await SendJobsAsync(shim, cancellationToken);
        var cpu = shim.CpuTime - cpuBefore;
        var loaded = shim.Memory;
        var (lost, rejected) = await ShimClient.SettledCountersAsync(shim.Address, cancellationToken);
        var mib = (Resident r) => r.Total / 1048576.0;
        return new BenchmarkReport(Title, ["figure", "shim", "goal"],
        [
            ["resident memory, 5 s idle after start", idle.ToString(), Goal(mib(idle), IdleGoalMiB)],
            [$"resident memory after {Jobs:N0} image jobs, {Concurrency} at a time", loaded.ToString(), Goal(mib(loaded), LoadedGoalMiB)],
            ["resident memory, peak during the jobs", peak.ToString(), "-"],
            ["CPU time per 1,000 jobs (utime + stime)", $"{(cpu.TotalMilliseconds * 1000 / Jobs).ToString("0", CultureInfo.InvariantCulture)} ms", "-"],
            ["answers", string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Value}× {s.Key}")), $"{Jobs}× 200"],
            ["the shim's lost / rejected counters after the jobs", $"{lost} / {rejected}", "0 / 0"],
        ],
        [
            $"Command as the lead reruns it: dotnet run --project bench -c Release -- {Name}",
            "The shim: the Native AOT executable as it ships (artifacts/native/shim), default settings, its own process. Upstream: nginx answering Immich's CLIP JSON (as in the shim benchmark). " +
                (withAgent ? "A test agent in the benchmark process reports the box SERVING." : "No agent runs: the shim's agent address is a loopback port nobody listens on."),
            $"Jobs: Immich's smart-search /predict form with a {ImmichForms.Image.Length / 1000} KB JPEG, sent by {Concurrency} clients in the benchmark process, each waiting for its answer before the next.",
            "Resident memory from /proc: VmRSS, and in brackets RssAnon (private; the rest is the runtime's and libraries' mapped files). Peak sampled every 100 ms.",
        ]);
    }

    private static string Goal(double mib, double goal) =>
        $"≤ {goal:0} MiB: {(mib <= goal ? "met" : "missed")}";

    /// <summary>Waits until a search is answered 200: the shim forwards.</summary>
    private static async Task<bool> ForwardsAsync(Uri shim, CancellationToken ct)
    {
        using var client = ShimClient.Create(shim);
        var deadline = DateTime.UtcNow + ForwardingWait;
        while (DateTime.UtcNow < deadline)
        {
            using var response = await client.SendAsync(ImmichForms.Search(), ct);
            if (response.StatusCode == HttpStatusCode.OK)
            {
                return true;
            }

            await Task.Delay(250, ct);
        }

        return false;
    }

    private static async Task<(Dictionary<int, int> Statuses, Resident Peak)> SendJobsAsync(ShimProcess shim, CancellationToken ct)
    {
        using var client = ShimClient.Create(shim.Address);
        var statuses = new Dictionary<int, int>();
        var next = 0;
        var peak = default(Resident);
        using var stop = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                peak = Resident.Max(peak, shim.Memory);
                await Task.Delay(100, CancellationToken.None);
            }
        }, CancellationToken.None);
        await Task.WhenAll(Enumerable.Range(0, Concurrency).Select(async _ =>
        {
            while (Interlocked.Increment(ref next) <= Jobs)
            {
                using var response = await client.SendAsync(ImmichForms.ImageJob(), ct);
                await response.Content.ReadAsByteArrayAsync(ct);
                lock (statuses)
                {
                    statuses[(int)response.StatusCode] = statuses.GetValueOrDefault((int)response.StatusCode) + 1;
                }
            }
        }));
        await stop.CancelAsync();
        await sampler;
        return (statuses, Resident.Max(peak, shim.Memory));
    }
}
