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

    public static async Task<GpuBox> StartAsync(bool serving = true, ulong freeBytes = 4 * TestAgent.GiB)
    {
        var ct = TestContext.Current.CancellationToken;
        var box = new GpuBox(await MlStandIn.StartAsync(ct), await TestAgent.StartAsync(ct));
        if (serving)
        {
            box.Agent.Serve(freeBytes);
        }

        return box;
    }

    public async ValueTask DisposeAsync()
    {
        await Agent.DisposeAsync();
        await Ml.DisposeAsync();
    }
}
