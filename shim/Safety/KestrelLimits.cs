using GpuSplit.Shim.Classification;
using GpuSplit.Shim.Configuration;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace GpuSplit.Shim.Safety;

/// <summary>
/// Kestrel's limits for a proxy that only Immich's server should talk to: small headers, prompt request
/// heads, a minimum upload rate (a stalled client cannot pin a connection), the body limit, and a request buffer
/// just over the window the classifier reads, so a held job keeps only the start of its image in memory and the
/// rest waits in the client's socket.
/// </summary>
public static class KestrelLimits
{
    public static void Apply(KestrelServerOptions kestrel, ShimOptions options)
    {
        kestrel.AddServerHeader = false;
        var limits = kestrel.Limits;
        limits.MaxRequestBodySize = options.MaxRequestBodyBytes;
        limits.MaxRequestBufferSize = 2 * RequestClassifier.EntriesWindowBytes;
        limits.MaxRequestHeadersTotalSize = 16 * 1024;
        limits.MaxRequestHeaderCount = 50;
        limits.MaxRequestLineSize = 8 * 1024;
        limits.RequestHeadersTimeout = TimeSpan.FromSeconds(10);
        limits.MinRequestBodyDataRate = new MinDataRate(bytesPerSecond: 240, gracePeriod: TimeSpan.FromSeconds(10));
        limits.MinResponseDataRate = new MinDataRate(bytesPerSecond: 240, gracePeriod: TimeSpan.FromSeconds(10));
        limits.MaxConcurrentConnections = 1024;
        limits.Http2.MaxStreamsPerConnection = 100;
    }
}
