using GpuSplit.Shim.Admission;
using GpuSplit.Shim.Upstreams;

namespace GpuSplit.Shim.Status;

/// <summary>Reads the live figures (held jobs, in-flight requests, box states, VRAM) at each scrape.</summary>
public sealed class MetricsSampler
{
    private readonly ShimMetrics _metrics;
    private readonly UpstreamRegistry _upstreams;
    private readonly HoldQueue _holds;
    private readonly Dictionary<string, string> _shownState = [];
    private readonly Lock _gate = new();

    public MetricsSampler(ShimMetrics metrics, UpstreamRegistry upstreams, HoldQueue holds)
    {
        _metrics = metrics;
        _upstreams = upstreams;
        _holds = holds;
        metrics.Registry.AddBeforeCollectCallback(Sample);
    }

    private void Sample()
    {
        _metrics.Held.Set(_holds.Count);
        lock (_gate)
        {
            foreach (var upstream in _upstreams.All)
            {
                var health = upstream.Health;
                _metrics.InFlight.WithLabels(upstream.Name).Set(upstream.InFlight);
                _metrics.Serving.WithLabels(upstream.Name).Set(health.Condition == UpstreamCondition.Serving ? 1 : 0);
                if (_shownState.TryGetValue(upstream.Name, out var shown) && shown != health.State)
                {
                    _metrics.State.RemoveLabelled(upstream.Name, shown);
                }

                _metrics.State.WithLabels(upstream.Name, health.State).Set(1);
                _shownState[upstream.Name] = health.State;
                _metrics.VramFree.WithLabels(upstream.Name).Set(upstream.FreeVramBytes);
                _metrics.VramTotal.WithLabels(upstream.Name).Set(upstream.Status?.Gpu?.Gpus.Sum(g => (double)g.MemoryTotalBytes) ?? 0);
            }
        }
    }
}
