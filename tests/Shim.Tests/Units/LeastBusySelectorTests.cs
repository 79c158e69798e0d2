using GpuSplit.Protos.V1;
using GpuSplit.Shim.Forwarding;
using GpuSplit.Shim.Tests.Infrastructure;
using GpuSplit.Shim.Upstreams;

namespace GpuSplit.Shim.Tests.Units;

public sealed class LeastBusySelectorTests
{
    private static readonly LeastBusySelector Selector = new();

    [Fact]
    public void Fewest_in_flight_first_then_most_free_VRAM_then_configuration_order()
    {
        var a = Box("a", freeGiB: 1);
        var b = Box("b", freeGiB: 3);
        var c = Box("c", freeGiB: 3);

        Assert.Same(b, Selector.Select([a, b, c]));
        b.BeginRequest();
        Assert.Same(c, Selector.Select([a, b, c]));
        c.BeginRequest();
        Assert.Same(a, Selector.Select([a, b, c]));
        a.BeginRequest();
        a.BeginRequest();
        Assert.Same(b, Selector.Select([a, b, c]));
    }

    private static Upstream Box(string name, ulong freeGiB)
    {
        var upstream = new Upstream(name, new Uri($"http://{name}:3003"), new Uri($"http://{name}:3004"), null, new AgentHealthPolicy(), TimeProvider.System);
        upstream.Heard(v => v with { Status = TestAgent.Status(true, "", WorkerState.Running, freeGiB * TestAgent.GiB) });
        return upstream;
    }
}
