using System.Diagnostics;
using System.Globalization;
using GpuSplit.Protos.V1;
using GpuSplit.Testing;
using GpuSplit.Testing.Agent;
using GpuSplit.Testing.Docker;
using GpuSplit.Testing.MlStandIn;
using GpuSplit.Testing.Network;
using GpuSplit.Testing.Processes;
using Grpc.Core;
using Grpc.Net.Client;

namespace GpuSplit.Bench.Agent;

/// <summary>
/// The agent as it runs on the GPU box: its CPU and memory over a minute at a 1 s poll (NVML through the fake
/// library, Docker, /ping, a WatchStatus subscriber like the shim), and the time from a real cgroup OOM kill of the
/// worker container to the agent reporting SERVING again.
/// </summary>
public sealed class AgentBenchmark : IBenchmark
{
    private const int Kills = 5;
    private static readonly TimeSpan Window = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan WarmUp = TimeSpan.FromSeconds(5);

    public string Name => "agent";

    public async Task<BenchmarkReport> RunAsync(CancellationToken cancellationToken)
    {
        var engine = await DockerEngine.MachineAsync();
        await using var worker = await MlStandInContainer.StartAsync(engine, new MlStandInOptions { MemoryLimitMib = 160 });
        var workerPid = (uint)(await worker.StateAsync()).Pid;
        using var nvml = FakeNvml.ForChildProcess(FakeNvmlState.OneGtx1060(new FakeGpuProcess(workerPid, 1500UL * 1024 * 1024)));
        var port = FreePort.Next().ToString(CultureInfo.InvariantCulture);
        var environment = new Dictionary<string, string>(nvml.Environment)
        {
            ["Agent__Worker__Container"] = worker.Name,
            ["Agent__Worker__Url"] = worker.BaseUri.ToString(),
            ["Agent__Gpu__NvmlLibrary"] = FakeNvml.LibraryPath,
            ["Agent__PollInterval"] = "00:00:01",
        };
        await using var agent = AgentProcess.Start(["--urls", $"http://127.0.0.1:{port}", $"--Agent:Metrics:Url=http://127.0.0.1:{FreePort.Next()}"], environment);
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
        var client = new Protos.V1.Agent.AgentClient(channel);
        using var watching = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var statuses = new StatusLog();
        var watch = WatchAsync(client, statuses, watching.Token);
        await statuses.WaitAsync(s => s.Serving && s.Gpu.Available, TimeSpan.FromSeconds(60), "the agent to serve with GPU figures");

        var idle = await MeasureIdleAsync(agent.Id, cancellationToken);

        var toFailure = new List<double>();
        var toStarted = new List<double>();
        var toServing = new List<double>();
        for (var i = 0; i < Kills; i++)
        {
            var restarts = statuses.Latest!.Worker.RestartCount;
            await worker.ControlAsync("oom-kill");
            var serving = await statuses.WaitAsync(s => s.Serving && s.Worker.RestartCount == restarts + 1, TimeSpan.FromSeconds(60),
                "SERVING after the OOM kill");
            var docker = await worker.StateAsync();
            if (serving.Status.Worker.LastFailure.Class != FailureClass.HostOomKilled)
            {
                throw new InvalidOperationException($"expected a host OOM kill, the agent reported {serving.Status.Worker.LastFailure}");
            }

            // FinishedAt of the killed run survives the restart; all three clocks are this machine's.
            var killed = docker.FinishedAt;
            toFailure.Add((serving.Status.Worker.LastFailure.At.ToDateTimeOffset() - killed).TotalMilliseconds);
            toStarted.Add((docker.StartedAt - killed).TotalMilliseconds);
            toServing.Add((serving.ReceivedAt - killed).TotalMilliseconds);
        }

        await watching.CancelAsync();
        await watch;
        return new BenchmarkReport(
            "agent: resources at a 1 s poll, and OOM kill to SERVING",
            ["figure", "median", "min", "max", "samples"],
            [
                ["agent CPU over 60 s (% of one core)", idle.CpuPercent.ToString("0.00", CultureInfo.InvariantCulture), "", "", "1"],
                MibRow("agent resident memory, VmRSS (MiB)", idle.Rss),
                MibRow("  of it private (RssAnon: heap, stacks, the executable's relocated data) (MiB)", idle.Anon),
                MibRow("  of it mapped files (RssFile: the executable and libraries, shareable) (MiB)", idle.Mapped),
                ["machine load average (1 min) at the window's start / end", $"{idle.LoadBefore} / {idle.LoadAfter}", "", "", "2"],
                Row("OOM kill -> agent restarts the container (ms)", toFailure),
                Row("OOM kill -> container started again (ms)", toStarted),
                Row("OOM kill -> WatchStatus client sees SERVING (ms)", toServing),
            ],
            [
                "The agent runs as a process, as it ships: the Native AOT executable that the bench's build publishes (artifacts/native/agent/agent, Release), with Agent:PollInterval 1 s; NVML is the fake library "
                + "(one GTX 1060 with the worker's process), Docker is the machine's real engine, one WatchStatus subscriber stays connected. "
                + $"CPU is utime+stime from /proc/<pid>/stat over {Window.TotalSeconds:0} s after a {WarmUp.TotalSeconds:0} s warm-up, divided by the window's wall time; "
                + "memory is /proc/<pid>/status sampled each second (median, and the max). The machine is shared: its load average is beside the figures, "
                + "and CPU time consumed (not wall time) is what the CPU figure counts.",
                $"OOM kill: the ML stand-in container (docker -m 160m --memory-swap 160m) allocates native memory until the kernel kills it (exit 137, OOMKilled); {Kills} kills in a row. "
                + "The kill time is the container's State.FinishedAt; SERVING is when the WatchStatus stream delivered serving=true.",
                "The stand-in is a .NET program answering /ping about 0.5 s after start; Immich's real ML container takes longer to import Python and "
                + "its first /predict loads models, so on a GPU box the last figure grows by that start-up time; the agent's own share is the first row.",
            ]);
    }

    private static IReadOnlyList<string> Row(string name, List<double> samples) =>
    [
        name, Stats.Median(samples).ToString("0", CultureInfo.InvariantCulture), samples.Min().ToString("0", CultureInfo.InvariantCulture),
        samples.Max().ToString("0", CultureInfo.InvariantCulture), samples.Count.ToString(CultureInfo.InvariantCulture),
    ];

    private static IReadOnlyList<string> MibRow(string name, List<double> samples) =>
    [
        name, Stats.Median(samples).ToString("0.0", CultureInfo.InvariantCulture), samples.Min().ToString("0.0", CultureInfo.InvariantCulture),
        samples.Max().ToString("0.0", CultureInfo.InvariantCulture), samples.Count.ToString(CultureInfo.InvariantCulture),
    ];

    private static async Task<Idle> MeasureIdleAsync(int pid, CancellationToken cancellationToken)
    {
        await Task.Delay(WarmUp, cancellationToken);
        var ticksPerSecond = double.Parse((await Command.RunAsync("getconf", ["CLK_TCK"], TimeSpan.FromSeconds(10), cancellationToken: cancellationToken)).Stdout,
            CultureInfo.InvariantCulture);
        var loadBefore = LoadAverage();
        var startTicks = CpuTicks(pid);
        var clock = Stopwatch.StartNew();
        var idle = new Idle(loadBefore);
        while (clock.Elapsed < Window)
        {
            await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            idle.Rss.Add(StatusMib(pid, "VmRSS:"));
            idle.Anon.Add(StatusMib(pid, "RssAnon:"));
            idle.Mapped.Add(StatusMib(pid, "RssFile:"));
        }

        var cpuSeconds = (CpuTicks(pid) - startTicks) / ticksPerSecond;
        idle.CpuPercent = cpuSeconds / clock.Elapsed.TotalSeconds * 100;
        idle.LoadAfter = LoadAverage();
        return idle;
    }

    /// <summary>The first field of /proc/loadavg: runnable tasks over the last minute.</summary>
    private static string LoadAverage() => File.ReadAllText("/proc/loadavg").Split(' ')[0];

    // /proc/<pid>/stat: fields 14 and 15 (utime, stime), counted after the parenthesized command name.
    private static long CpuTicks(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
    }

    private static double StatusMib(int pid, string field)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith(field, StringComparison.Ordinal));
        return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024.0;
    }

    private static async Task WatchAsync(Protos.V1.Agent.AgentClient client, StatusLog log, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                using var call = client.WatchStatus(new WatchStatusRequest(), cancellationToken: cancellationToken);
                while (await call.ResponseStream.MoveNext(cancellationToken))
                {
                    log.Add(call.ResponseStream.Current);
                }
            }
            catch (RpcException) when (!cancellationToken.IsCancellationRequested)
            {
                // The agent is still starting: connect again.
                await Task.Delay(100, CancellationToken.None);
            }
            catch (Exception error) when (error is OperationCanceledException || (error is RpcException rpc && rpc.StatusCode == StatusCode.Cancelled))
            {
                return;
            }
        }
    }

    private sealed class Idle(string loadBefore)
    {
        public string LoadBefore { get; } = loadBefore;

        public string LoadAfter { get; set; } = "";

        public double CpuPercent { get; set; }

        public List<double> Rss { get; } = [];

        public List<double> Anon { get; } = [];

        public List<double> Mapped { get; } = [];
    }

    /// <summary>The WatchStatus messages with the time each arrived.</summary>
    private sealed class StatusLog
    {
        private readonly List<(AgentStatus Status, DateTimeOffset ReceivedAt)> _items = [];

        public AgentStatus? Latest
        {
            get
            {
                lock (_items)
                {
                    return _items.Count == 0 ? null : _items[^1].Status;
                }
            }
        }

        public void Add(AgentStatus status)
        {
            lock (_items)
            {
                _items.Add((status, DateTimeOffset.UtcNow));
            }
        }

        public async Task<(AgentStatus Status, DateTimeOffset ReceivedAt)> WaitAsync(Func<AgentStatus, bool> condition, TimeSpan timeout, string what)
        {
            int seen;
            lock (_items)
            {
                seen = _items.Count;
            }

            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < timeout)
            {
                lock (_items)
                {
                    for (; seen < _items.Count; seen++)
                    {
                        if (condition(_items[seen].Status))
                        {
                            return _items[seen];
                        }
                    }
                }

                await Task.Delay(20);
            }

            throw new TimeoutException($"timed out waiting for {what}");
        }
    }
}
