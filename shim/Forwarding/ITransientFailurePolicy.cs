using Yarp.ReverseProxy.Forwarder;

namespace GpuSplit.Shim.Forwarding;

/// <summary>
/// Tells, for an attempt that went wrong before anything reached the client, whether the box failed for a reason
/// worth waiting out (the work was not done and may succeed once the box serves again). Null: pass it on as is.
/// </summary>
public interface ITransientFailurePolicy
{
    /// <summary>An answer the box gave: its status and, for a small error answer, its body.</summary>
    string? ForAnswer(int statusCode, string? body);

    /// <summary>No answer: YARP's error for an attempt whose response had not started.</summary>
    string? ForTransport(ForwarderError error);
}

/// <summary>The reasons a job is sent again, as counted in <c>shim_replays_total</c>.</summary>
public static class ReplayReasons
{
    public const string ConnectionFailed = "connection-failed";
    public const string TimedOut = "timed-out";
    public const string BoxGone = "box-gone";
    public const string OutOfMemory = "out-of-memory";
    public const string WorkerFailed = "worker-failed";
    public const string GatewayError = "gateway-error";
    public const string EmptyAnswer = "empty-answer";
}
