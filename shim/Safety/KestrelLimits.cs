using GpuSplit.Shim.Classification;
using GpuSplit.Shim.Configuration;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace GpuSplit.Shim.Safety;

/// <summary>
/// Kestrel's limits for a proxy that only Immich's server should talk to: small headers, prompt request
/// heads, a minimum upload rate (a stalled client cannot pin a connection), the body limit, and a request buffer
/// just over the window the classifier reads (a held job's image goes on to its spool file, not to memory).
/// A cheap client must not lock Immich out by opening connections and sending nothing: a connection that has not
/// begun a request (Kestrel counts that time as keep-alive) or not finished its head within a few seconds is closed,
/// and the cap is far above what a LAN client can fill in that time (2,000 idle connections leave a job answered at
/// once: tests/Shim.Tests/ConnectionLimitTests). nginx, for reference: client_header_timeout 60 s, keepalive_timeout
/// 75 s, worker_connections 768 (Debian), so 1,000 idle connections lock it out.
/// </summary>
public static class KestrelLimits
{
    public const int MaxConnections = 16 * 1024;

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
        // Longer than the 4 s Immich's fetch (undici) keeps an idle connection, so the client closes first and never
        // sends on a connection the shim is closing; far shorter than Kestrel's 130 s.
        limits.KeepAliveTimeout = TimeSpan.FromSeconds(10);
        limits.MinRequestBodyDataRate = new MinDataRate(bytesPerSecond: 240, gracePeriod: TimeSpan.FromSeconds(10));
        limits.MinResponseDataRate = new MinDataRate(bytesPerSecond: 240, gracePeriod: TimeSpan.FromSeconds(10));
        // An idle connection costs a socket and a little memory; the process's open-file limit must be above this (the
        // .NET runtime raises its soft limit to the hard one: 524,288 under systemd's default, 1,048,576 in Docker).
        limits.MaxConcurrentConnections = MaxConnections;
        limits.Http2.MaxStreamsPerConnection = 100;
    }
}
