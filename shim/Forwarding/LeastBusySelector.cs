using GpuSplit.Shim.Upstreams;

namespace GpuSplit.Shim.Forwarding;

/// <summary>
/// The box with the fewest requests in flight; between equally busy boxes, the one with the most free VRAM
/// (a model that has to load fits there without an out-of-memory restart). Ties keep configuration order.
/// </summary>
public sealed class LeastBusySelector : IUpstreamSelector
{
    public Upstream Select(IReadOnlyList<Upstream> serving)
    {
        var best = serving[0];
        (int InFlight, ulong Free) bestLoad = (best.InFlight, best.FreeVramBytes);
        for (var i = 1; i < serving.Count; i++)
        {
            var load = (serving[i].InFlight, serving[i].FreeVramBytes);
            if (load.InFlight < bestLoad.InFlight || (load.InFlight == bestLoad.InFlight && load.FreeVramBytes > bestLoad.Free))
            {
                (best, bestLoad) = (serving[i], load);
            }
        }

        return best;
    }
}
