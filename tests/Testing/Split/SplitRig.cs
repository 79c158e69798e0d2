using System.Globalization;
using System.Text.Json;
using GpuSplit.Testing.Agent;
using GpuSplit.Testing.Docker;
using GpuSplit.Testing.GpuBox;
using GpuSplit.Testing.MlStandIn;
using GpuSplit.Testing.Network;
using GpuSplit.Testing.Nginx;
using GpuSplit.Testing.Processes;
using GpuSplit.Testing.Shim;

namespace GpuSplit.Testing.Split;

/// <summary>Which way Immich's ML URL points.</summary>
public enum Route
{
    /// <summary>At the GPU box itself: the control, no proxy at all.</summary>
    Direct,

    /// <summary>At GpuSplit's shim.</summary>
    Shim,

    /// <summary>At nginx with the seed's config.</summary>
    Nginx,
}

/// <summary>How the split is set up; the defaults suit a test on a 2-core machine.</summary>
public sealed record SplitRigOptions
{
    /// <summary>What each /predict takes on the stand-in (inference time).</summary>
    public int PredictDelayMs { get; init; } = 100;

    /// <summary>The stand-in container's memory limit: the cgroup that OOM-kills it.</summary>
    public int MemoryLimitMib { get; init; } = 160;

    /// <summary>The shim's Shim:HoldLimit: how long a background job may wait for the box.</summary>
    public TimeSpan HoldLimit { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>More shim settings, after the rig's own (a later value wins), e.g. <c>--Shim:Power:IdleTime=00:00:03</c>.</summary>
    public IReadOnlyList<string> ShimArguments { get; init; } = [];

    /// <summary>More agent settings, after the rig's own, e.g. <c>--Agent:Token=...</c>.</summary>
    public IReadOnlyList<string> AgentArguments { get; init; } = [];

    /// <summary>Environment variables for the agent (the fake NVML's state file).</summary>
    public IReadOnlyDictionary<string, string> AgentEnvironment { get; init; } = new Dictionary<string, string>();
}

/// <summary>
/// The whole split, every part real: the GPU box (a network namespace with its own Docker engine) runs the ML
/// stand-in as a container (host networking: the box's address, port 3003) and the agent as a process (port
/// 3004) watching it through the box's engine; the always-on box (this machine) runs the shim and, side by side,
/// nginx with the seed's config, both forwarding to the box. Disposing tears everything down, failed test or not.
/// </summary>
public sealed class SplitRig : IAsyncDisposable
{
    public const int MlPort = 3003;
    public const int AgentPort = 3004;

    private static readonly HttpClient Http = new(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(5) };
    private readonly List<IAsyncDisposable> _parts = [];
    private System.Diagnostics.ProcessStartInfo _agentStart = null!;

    private SplitRig(GpuBoxHost box) => Box = box;

    public GpuBoxHost Box { get; }

    public MlStandInContainer Ml { get; private set; } = null!;

    public RunningProcess Agent { get; private set; } = null!;

    /// <summary>Whether the box has power: <see cref="PowerOffAsync"/> and <see cref="PowerOnAsync"/> switch it.</summary>
    public bool PoweredOn { get; private set; } = true;

    public RunningProcess Shim { get; private set; } = null!;

    public SeedNginx Nginx { get; private set; } = null!;

    public Uri ShimUri { get; private set; } = null!;

    public Uri Entry(Route route) => route switch
    {
        Route.Direct => Box.BoxUri(MlPort),
        Route.Shim => ShimUri,
        Route.Nginx => Nginx.BaseUri,
        _ => throw new ArgumentOutOfRangeException(nameof(route), route, null),
    };

    /// <summary>Starts every part and waits (at most 60 s) until the shim sees the box serving.</summary>
    public static async Task<SplitRig> StartAsync(SplitRigOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new SplitRigOptions();
        var rig = new SplitRig(await GpuBoxHost.CreateAsync(cancellationToken: cancellationToken));
        try
        {
            await rig.StartPartsAsync(options, cancellationToken);
            return rig;
        }
        catch
        {
            await rig.DisposeAsync();
            throw;
        }
    }

    /// <summary>The shim's <c>/status.json</c>.</summary>
    public async Task<JsonElement> ShimStatusAsync(CancellationToken cancellationToken = default)
    {
        using var response = await Http.GetAsync(new Uri(ShimUri, "status.json"), cancellationToken);
        response.EnsureSuccessStatusCode();
        using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
        return json.RootElement.Clone();
    }

    /// <summary>The shim's word for its jobs: flowing, held or failing; "unreachable" when it does not answer.</summary>
    public async Task<string> ShimJobsStateAsync(CancellationToken cancellationToken = default)
    {
        try
        {
            return (await ShimStatusAsync(cancellationToken)).GetProperty("jobs").GetProperty("state").GetString() ?? "";
        }
        catch (HttpRequestException)
        {
            return "unreachable";
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return "unreachable";
        }
    }

    public async Task WaitForShimJobsAsync(string state, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        try
        {
            await Waiting.UntilAsync(() => ShimJobsStateAsync(cancellationToken), s => s == state, timeout,
                $"the shim to report ML jobs '{state}'", TimeSpan.FromMilliseconds(50), cancellationToken);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}\n{Describe()}", e);
        }
    }

    /// <summary>When the ML container last started, as its engine says (a restart moves it).</summary>
    public async Task<DateTimeOffset> WorkerStartedAtAsync() => (await Ml.StateAsync()).StartedAt;

    /// <summary>
    /// The box loses power: its link goes down (open connections stall, new ones hang), its agent dies and the ML
    /// container is killed. Its engine keeps the stopped container, as Docker does across a reboot with compose's
    /// <c>restart: "no"</c>.
    /// </summary>
    public Task PowerOffAsync(CancellationToken cancellationToken = default) => PowerOffAsync(() => { }, cancellationToken);

    /// <param name="linkCut">Called the moment the link is down: from then on no request reaches the box.</param>
    /// <param name="cancellationToken">Stops the switching.</param>
    public async Task PowerOffAsync(Action linkCut, CancellationToken cancellationToken = default)
    {
        PoweredOn = false;
        await Box.SleepAsync(cancellationToken);
        linkCut();
        await Agent.DisposeAsync();
        await Ml.Engine.CheckedAsync("kill", Ml.Name);
    }

    /// <summary>
    /// Power comes back: the link comes up and the agent starts, as its service would at boot; the agent starts the
    /// stopped ML container itself.
    /// </summary>
    public async Task PowerOnAsync(CancellationToken cancellationToken = default)
    {
        await Box.WakeAsync(cancellationToken);
        Agent = Box.StartProcess(_agentStart);
        PoweredOn = true;
    }

    /// <summary>The agent process stops (a crash, an upgrade); the box, its link and its ML container stay up.</summary>
    public async Task StopAgentAsync() => await Agent.DisposeAsync();

    /// <summary>The agent process starts again, as its service would restart it; it starts a stopped ML container itself.</summary>
    public void StartAgent() => Agent = Box.StartProcess(_agentStart);

    /// <summary>Output of the agent and the shim, for a failure message.</summary>
    public string Describe() =>
        $"--- agent ---\n{Tail(Agent?.Output)}\n--- shim ---\n{Tail(Shim?.Output)}";

    public async ValueTask DisposeAsync()
    {
        for (var i = _parts.Count - 1; i >= 0; i--)
        {
            try
            {
                await _parts[i].DisposeAsync();
            }
            catch (Exception e) when (e is InvalidOperationException or IOException or TimeoutException)
            {
                // The box's destroy below still removes what this part left on the box.
            }
        }

        await Box.DisposeAsync();
    }

    private async Task StartPartsAsync(SplitRigOptions options, CancellationToken cancellationToken)
    {
        var box = Box.BoxAddress.ToString();
        var engine = new DockerEngine(await Box.StartDockerAsync(cancellationToken));
        await engine.EnsureEmptyImageAsync();
        Ml = await MlStandInContainer.StartAsync(engine, new MlStandInOptions
        {
            Name = TestContainers.UniqueName("immich-ml"),
            ListenAddress = box,
            Port = MlPort,
            MemoryLimitMib = options.MemoryLimitMib,
            PredictDelayMs = options.PredictDelayMs,
        });
        _parts.Add(Ml);

        var agent = AgentProcess.StartInfo();
        foreach (var arg in (string[])
                 [
                     "--urls", $"http://{box}:{AgentPort.ToString(CultureInfo.InvariantCulture)}",
                     $"--Agent:Worker:Container={Ml.Name}",
                     $"--Agent:Worker:Url=http://{box}:{MlPort.ToString(CultureInfo.InvariantCulture)}",
                     $"--Agent:Docker:Endpoint={engine.Host}",
                     // No card on this machine; the rows are about the worker's failures, not VRAM readings.
                     "--Agent:Gpu:Enabled=false",
                     .. options.AgentArguments,
                 ])
        {
            agent.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in options.AgentEnvironment)
        {
            agent.Environment[name] = value;
        }

        _agentStart = agent;
        Agent = Box.StartProcess(agent);

        var shimPort = FreePort.Next();
        ShimUri = new Uri($"http://127.0.0.1:{shimPort.ToString(CultureInfo.InvariantCulture)}/");
        Shim = RunningProcess.Start(ShimProgram.StartInfo(
        [
            $"--urls=http://127.0.0.1:{shimPort.ToString(CultureInfo.InvariantCulture)}",
            "--Shim:Upstreams:0:Name=gpu-box",
            $"--Shim:Upstreams:0:Url=http://{box}:{MlPort.ToString(CultureInfo.InvariantCulture)}",
            $"--Shim:Upstreams:0:Agent=http://{box}:{AgentPort.ToString(CultureInfo.InvariantCulture)}",
            $"--Shim:HoldLimit={options.HoldLimit.ToString("c", CultureInfo.InvariantCulture)}",
            // Per-request lines would cost CPU the measurement needs; state changes stay visible.
            "--Logging:LogLevel:Default=Warning",
            "--Logging:LogLevel:GpuSplit=Information",
            .. options.ShimArguments,
        ]), "shim");
        _parts.Add(Shim);

        Nginx = await SeedNginx.StartAsync(box, MlPort, cancellationToken);
        _parts.Add(Nginx);

        await WaitForShimJobsAsync("flowing", TimeSpan.FromSeconds(60), cancellationToken);
    }

    private static string Tail(string? output) =>
        output is null ? "(not started)" : string.Join('\n', output.Split('\n').TakeLast(40));
}
