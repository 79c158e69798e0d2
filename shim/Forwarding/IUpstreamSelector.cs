using GpuSplit.Shim.Upstreams;

namespace GpuSplit.Shim.Forwarding;

/// <summary>Picks one of the serving GPU boxes for a request.</summary>
public interface IUpstreamSelector
{
    Upstream Select(IReadOnlyList<Upstream> serving);
}
