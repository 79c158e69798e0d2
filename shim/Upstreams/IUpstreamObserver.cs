namespace GpuSplit.Shim.Upstreams;

/// <summary>Hears every change of a GPU box's health (logs, metrics, the status page's events).</summary>
public interface IUpstreamObserver
{
    void HealthChanged(Upstream upstream, UpstreamHealth previous, UpstreamHealth current);
}
