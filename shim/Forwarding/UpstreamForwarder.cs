using System.Net;
using GpuSplit.Shim.Configuration;
using GpuSplit.Shim.Upstreams;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Forwarder;

namespace GpuSplit.Shim.Forwarding;

/// <summary>
/// Sends one request to one GPU box with YARP, streaming the body both ways. Connect timeout and response
/// (inactivity) timeout as in the seed's nginx. When the box dies mid-answer YARP aborts the client's
/// connection, so the client sees an error, never a cut-short 200.
/// </summary>
public sealed class UpstreamForwarder : IDisposable
{
    private readonly IHttpForwarder _forwarder;
    private readonly HttpMessageInvoker _client;
    private readonly ForwarderRequestConfig _config;

    public UpstreamForwarder(IHttpForwarder forwarder, IOptions<ShimOptions> options)
    {
        var settings = options.Value;
        _forwarder = forwarder;
        _client = new HttpMessageInvoker(new SocketsHttpHandler
        {
            ConnectTimeout = settings.ConnectTimeout,
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            EnableMultipleHttp2Connections = true,
        });
        _config = new ForwarderRequestConfig
        {
            ActivityTimeout = settings.ResponseTimeout,
            // Immich's ML service (uvicorn) speaks HTTP/1.1.
            Version = HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
        };
    }

    public async Task<ForwardOutcome> ForwardAsync(HttpContext context, Upstream upstream)
    {
        upstream.BeginRequest();
        try
        {
            return await ForwardAsync(context, upstream.Url);
        }
        finally
        {
            upstream.EndRequest();
        }
    }

    /// <summary>To an ML service that no agent watches (the search fallback).</summary>
    public async Task<ForwardOutcome> ForwardAsync(HttpContext context, Uri destination)
    {
        var body = context.Request.Body;
        var probe = new BodyReadProbe(body);
        context.Request.Body = probe;
        ForwarderError error;
        try
        {
            error = await _forwarder.SendAsync(context, destination.AbsoluteUri.TrimEnd('/'), _client, _config, HttpTransformer.Default);
        }
        finally
        {
            context.Request.Body = body;
        }

        if (error == ForwarderError.None)
        {
            return new ForwardOutcome(ForwardResult.Answered, context.Response.StatusCode, error, null);
        }

        var detail = context.Features.Get<IForwarderErrorFeature>()?.Exception?.GetBaseException().Message ?? error.ToString();
        if (error is ForwarderError.Request or ForwarderError.RequestTimedOut
            && !probe.Started && !context.Response.HasStarted && !context.RequestAborted.IsCancellationRequested)
        {
            // YARP has set 502 or 504, but nothing reached the box: undo that, the request is still whole.
            context.Features.Set<IForwarderErrorFeature>(null);
            context.Response.Headers.Clear();
            context.Response.StatusCode = StatusCodes.Status200OK;
            return new ForwardOutcome(ForwardResult.NotConnected, 0, error, detail);
        }

        return new ForwardOutcome(ForwardResult.Failed, context.Response.StatusCode, error, detail);
    }

    public void Dispose() => _client.Dispose();
}
