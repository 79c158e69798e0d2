using Yarp.ReverseProxy.Forwarder;

namespace GpuSplit.Shim.Forwarding;

/// <summary>
/// YARP's default transforms for one forwarding attempt, plus two things the shim must know before YARP writes
/// anything to the client: that the box's answer has arrived (from then on the attempt is no longer cancelled
/// when the box goes away), and whether an error answer means the work was not done for a transient reason
/// (then it is suppressed, so that the job can be sent again, and <see cref="Verdict"/> says why).
/// </summary>
public sealed class AttemptTransformer(ITransientFailurePolicy policy, bool inspectErrors) : HttpTransformer
{
    // Immich's ML service answers errors with a short JSON detail; a larger error body is passed on unread.
    private const int ErrorBodyLimit = 64 * 1024;

    private int _answered;

    /// <summary>Set when the box's answer was suppressed as a transient failure: the replay reason.</summary>
    public string? Verdict { get; private set; }

    /// <summary>The suppressed answer's status and body, for the log.</summary>
    public string? VerdictDetail { get; private set; }

    /// <summary>The box's answer head arrived (or the attempt ended): too late to cancel it.</summary>
    public bool Answered => Volatile.Read(ref _answered) == 1;

    public override async ValueTask<bool> TransformResponseAsync(HttpContext httpContext, HttpResponseMessage? proxyResponse, CancellationToken cancellationToken)
    {
        Volatile.Write(ref _answered, 1);
        if (proxyResponse is null)
        {
            return await base.TransformResponseAsync(httpContext, proxyResponse, cancellationToken);
        }

        var status = (int)proxyResponse.StatusCode;
        if (inspectErrors && status >= 500 && proxyResponse.Content.Headers.ContentLength is null or <= ErrorBodyLimit)
        {
            // Buffered, so YARP still copies the whole body to the client when the answer is passed on.
            await proxyResponse.Content.LoadIntoBufferAsync(ErrorBodyLimit, cancellationToken);
            var body = await proxyResponse.Content.ReadAsStringAsync(cancellationToken);
            if (policy.ForAnswer(status, body) is { } reason)
            {
                Suppress(reason, $"{status} {Shorten(body)}");
                return false;
            }
        }

        return await base.TransformResponseAsync(httpContext, proxyResponse, cancellationToken);
    }

    /// <summary>Takes the box's answer for a transient failure that is not passed on.</summary>
    public void Suppress(string reason, string detail)
    {
        Verdict = reason;
        VerdictDetail = detail;
    }

    private static string Shorten(string body) => body.Length <= 200 ? body : body[..200] + "…";
}
