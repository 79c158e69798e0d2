using Yarp.ReverseProxy.Forwarder;

namespace GpuSplit.Shim.Forwarding;

/// <summary>How one attempt to forward a request ended.</summary>
public enum ForwardResult
{
    /// <summary>The box answered; its status went to the client.</summary>
    Answered,

    /// <summary>
    /// The box failed for a transient reason before anything reached the client (no connection, a connection
    /// dropped before the answer, an out-of-memory answer, the box gone): the work was not done, and the client
    /// has not heard a word yet.
    /// </summary>
    NotDone,

    /// <summary>Broke otherwise, or after the answer started: the client got an error status or a cut connection.</summary>
    Failed,

    /// <summary>
    /// The client went away (or its body ended short): nobody is left to answer. The box is not to blame; if the
    /// whole body had gone to it (<see cref="ForwardOutcome.BodySent"/>) it may have done the job.
    /// </summary>
    ClientGone,

    /// <summary>The client's body broke a limit while it streamed (too large, too slow): a 4xx, the client's fault.</summary>
    Rejected,
}

/// <param name="Reason">For <see cref="ForwardResult.NotDone"/>: why, as counted in <c>shim_replays_total</c>.</param>
/// <param name="BodyTouched">The attempt read some of the request body (so without a spool it cannot be sent again).</param>
/// <param name="BodySent">The attempt read the whole request body: the box got all of the job.</param>
public sealed record ForwardOutcome(
    ForwardResult Result, int StatusCode, ForwarderError Error, string? Detail, string? Reason = null, bool BodyTouched = false, bool BodySent = false);
