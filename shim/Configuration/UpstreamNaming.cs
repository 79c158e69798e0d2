namespace GpuSplit.Shim.Configuration;

/// <summary>The name a GPU box goes by on the status page and in metrics.</summary>
public static class UpstreamNaming
{
    public static string NameOf(UpstreamOptions upstream, Uri url) =>
        string.IsNullOrWhiteSpace(upstream.Name) ? url.Authority : upstream.Name.Trim();
}
