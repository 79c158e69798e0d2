using System.Net;
using GpuSplit.Shim.Classification;
using GpuSplit.Shim.Configuration;
using GpuSplit.Shim.Upstreams;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Forwarder;

namespace GpuSplit.Shim.Forwarding;

/// <summary>
/// Sends one request to one GPU box with YARP, streaming the body both ways. Connect timeout and response
/// (inactivity) timeout as in the seed's nginx. When the box dies mid-answer YARP aborts the client's
/// connection, so the client sees an error, never a cut-short 200. When it fails before anything reached the
/// client, the attempt is undone and reported as <see cref="ForwardResult.NotDone"/>, so the caller can hold the
/// job and send it again from its <see cref="RequestSpool"/>.
/// </summary>
public sealed class UpstreamForwarder : IDisposable
{
    private readonly IHttpForwarder _forwarder;
    private readonly ITransientFailurePolicy _failures;
    private readonly HttpMessageInvoker _client;
    private readonly ForwarderRequestConfig _config;

    public UpstreamForwarder(IHttpForwarder forwarder, ITransientFailurePolicy failures, IOptions<ShimOptions> options)
    {
        var settings = options.Value;
        _forwarder = forwarder;
        _failures = failures;
        _client = new HttpMessageInvoker(new SocketsHttpHandler
        {
            ConnectTimeout = settings.ConnectTimeout,
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            EnableMultipleHttp2Connections = true,
            ConnectCallback = BoxConnectionStream.ConnectAsync,
        });
        _config = new ForwarderRequestConfig
        {
            ActivityTimeout = settings.ResponseTimeout,
            // Immich's ML service (uvicorn) speaks HTTP/1.1.
            Version = HttpVersion.Version11,
            VersionPolicy = HttpVersionPolicy.RequestVersionOrLower,
        };
    }

    /// <param name="spool">A background job's copy of its body: the attempt reads from it, so it can be sent again.</param>
    public async Task<ForwardOutcome> ForwardAsync(HttpContext context, Upstream upstream, RequestSpool? spool)
    {
        upstream.BeginRequest();
        try
        {
            return await ForwardAsync(context, upstream.Url, spool, inspectErrors: true, upstream.WhenGone);
        }
        finally
        {
            upstream.EndRequest();
        }
    }

    /// <summary>To an ML service that no agent watches (the search fallback): its answers go to the client as they are.</summary>
    public Task<ForwardOutcome> ForwardAsync(HttpContext context, Uri destination) =>
        ForwardAsync(context, destination, spool: null, inspectErrors: false, CancellationToken.None);

    /// <param name="gone">Cancelled when the box vanishes: an attempt whose answer has not started is then taken back.</param>
    private async Task<ForwardOutcome> ForwardAsync(HttpContext context, Uri destination, RequestSpool? spool, bool inspectErrors, CancellationToken gone)
    {
        var body = context.Request.Body;
        var probe = new BodyReadProbe(spool?.NextAttempt() ?? body);
        context.Request.Body = probe;
        // The answer goes to the client in one send where it can (GatheredResponseBody), as the request goes to the box.
        var responseBody = context.Response.Body;
        var gathered = new GatheredResponseBody(context.Features.GetRequiredFeature<IHttpResponseBodyFeature>());
        context.Response.Body = gathered;
        var transformer = new AttemptTransformer(_failures, inspectErrors);
        using var abandon = new CancellationTokenSource();
        // A box that vanished (its agent no longer answers) leaves the attempt stalled on a dead connection until TCP
        // gives up; the job is better held and sent again on a fresh connection once the box is back.
        using var vanished = gone.Register(() =>
        {
            if (!transformer.Answered)
            {
                abandon.Cancel();
            }
        });
        if (context.Request.ContentLength > 0 && context.Request.Headers.Expect.Count == 0)
        {
            // Its head then leaves with the body's first bytes.
            BoxConnectionStream.HoldHeadForBody();
        }

        ForwarderError error;
        try
        {
            error = await _forwarder.SendAsync(context, destination.AbsoluteUri.TrimEnd('/'), _client, _config, transformer, abandon.Token);
            if (error == ForwarderError.None)
            {
                // The answer is whole: out now, not after the request's epilogue (Kestrel would send it then).
                await gathered.FlushAsync(CancellationToken.None);
            }
        }
        finally
        {
            context.Request.Body = body;
            context.Response.Body = responseBody;
        }

        if (error == ForwarderError.None && transformer.Verdict is null)
        {
            if (!inspectErrors || !IsEmptySuccess(context))
            {
                return new ForwardOutcome(ForwardResult.Answered, context.Response.StatusCode, error, null);
            }

            // Immich's ML service answers every /predict with JSON; a 2xx without a byte of it is no work done, and
            // the client must not take it for an answer. Nothing was written yet: YARP writes the head with the first byte.
            transformer.Suppress(ReplayReasons.EmptyAnswer, $"{context.Response.StatusCode} with an empty body");
        }

        var exception = context.Features.Get<IForwarderErrorFeature>()?.Exception;
        var detail = transformer.VerdictDetail ?? exception?.GetBaseException().Message ?? error.ToString();
        if (ClientFailed(context, error, exception) is { } clientGone)
        {
            if (clientGone is BadHttpRequestException bad)
            {
                // Too large or too slow while streaming: the client's 4xx, whatever YARP set.
                context.Features.Set<IForwarderErrorFeature>(null);
                if (!context.Response.HasStarted)
                {
                    context.Response.Clear();
                    context.Response.StatusCode = bad.StatusCode;
                }

                return new ForwardOutcome(ForwardResult.Rejected, bad.StatusCode, error, bad.Message, BodyTouched: probe.Started);
            }

            return new ForwardOutcome(ForwardResult.ClientGone, context.Response.StatusCode, error, detail, BodyTouched: probe.Started, BodySent: probe.Finished);
        }

        var reason = transformer.Verdict ?? (abandon.IsCancellationRequested ? ReplayReasons.BoxGone : _failures.ForTransport(error));
        if (reason is not null && !context.Response.HasStarted && !context.RequestAborted.IsCancellationRequested)
        {
            // YARP has set its 502 or 504, or copied the box's error status: undo that, the client has heard nothing.
            context.Features.Set<IForwarderErrorFeature>(null);
            context.Response.Clear();
            context.Response.StatusCode = StatusCodes.Status200OK;
            return new ForwardOutcome(ForwardResult.NotDone, 0, error, detail, reason, probe.Started);
        }

        return new ForwardOutcome(ForwardResult.Failed, context.Response.StatusCode, error, detail);
    }

    private static bool IsEmptySuccess(HttpContext context) =>
        HttpMethods.IsPost(context.Request.Method) && context.Response.StatusCode is >= 200 and < 300 && !context.Response.HasStarted;

    /// <summary>
    /// The client's side failed: it went away (reading its body or writing its answer failed, or it hung up while the
    /// box worked), or its
    /// body broke a limit (the BadHttpRequestException returned). Null when the failure was the box's or the shim's.
    /// </summary>
    private static Exception? ClientFailed(HttpContext context, ForwarderError error, Exception? exception)
    {
        if (error is ForwarderError.RequestBodyClient && exception?.GetBaseException() is BadHttpRequestException bad && !ClientHangUp.Is(bad))
        {
            return bad;
        }

        // Only YARP's client-side errors, and its cancellations when the client's own token fired: when the box dies
        // mid-answer YARP aborts the client's connection itself, which sets RequestAborted too.
        var gone = error is ForwarderError.RequestBodyClient or ForwarderError.ResponseBodyClient
            || (error is ForwarderError.RequestCanceled or ForwarderError.RequestBodyCanceled or ForwarderError.ResponseBodyCanceled
                && context.RequestAborted.IsCancellationRequested);
        return gone ? exception ?? new OperationCanceledException(context.RequestAborted) : null;
    }

    public void Dispose() => _client.Dispose();
}
