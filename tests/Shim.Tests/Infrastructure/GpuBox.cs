using GpuSplit.Protos.V1;

namespace GpuSplit.Shim.Tests.Infrastructure;

/// <summary>One GPU box on loopback: the ML stand-in and its agent.</summary>
public sealed class GpuBox : IAsyncDisposable
{
    private GpuBox(MlStandIn ml, TestAgent agent)
    {
        Ml = ml;
        Agent = agent;
    }

    public MlStandIn Ml { get; }

    public TestAgent Agent { get; }

    public (Uri Ml, Uri Agent) Endpoints => (Ml.Address, Agent.Address);

    /// <param name="mlPort">0 for any free port; a given port brings the box up where a shim already looks for it.</param>
    /// <param name="agentPort">Likewise for the agent.</param>
    public static async Task<GpuBox> StartAsync(bool serving = true, ulong freeBytes = 4 * TestAgent.GiB, int mlPort = 0, int agentPort = 0)
    {
        var ct = TestContext.Current.CancellationToken;
        var box = new GpuBox(await MlStandIn.StartAsync(ct, mlPort), await TestAgent.StartAsync(ct, agentPort));
        if (serving)
        {
            box.Agent.Serve(freeBytes);
        }

        return box;
    }

    /// <summary>A serving box whose agent promises a status message every <paramref name="heartbeatMs"/>; its status comes back to change.</summary>
    public static async Task<(GpuBox Box, AgentStatus Serving)> StartWithHeartbeatAsync(uint heartbeatMs)
    {
        var box = await StartAsync(serving: false);
        var serving = TestAgent.Status(true, "", WorkerState.Running, 4 * TestAgent.GiB);
        serving.HeartbeatMs = heartbeatMs;
        box.Agent.Service.Publish(serving);
        box.Agent.HealthService.SetStatus("", Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus.Serving);
        return (box, serving);
    }

    public async ValueTask DisposeAsync()
    {
        await Agent.DisposeAsync();
        await Ml.DisposeAsync();
    }
}

/// <summary>
/// A GPU box that is asleep or off: neither its ML service nor its agent answers (their ports refuse connections) until
/// it wakes, when both start where the shim looks for them.
/// </summary>
public sealed class AsleepBox : IAsyncDisposable
{
    private readonly SilentPort _ml = new();
    private readonly SilentPort _agent = new();
    private GpuBox? _awake;

    public (Uri Ml, Uri Agent) Endpoints => (_ml.Address, _agent.Address);

    /// <summary>The box wakes; with <paramref name="serving"/> false its agent says "starting" until the test says otherwise.</summary>
    public async Task<GpuBox> WakeAsync(bool serving = true)
    {
        _ml.Release();
        _agent.Release();
        _awake = await GpuBox.StartAsync(serving, mlPort: _ml.Port, agentPort: _agent.Port);
        return _awake;
    }

    public async ValueTask DisposeAsync()
    {
        if (_awake is not null)
        {
            await _awake.DisposeAsync();
        }

        _ml.Dispose();
        _agent.Dispose();
    }
}
