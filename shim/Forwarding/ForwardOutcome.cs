using Yarp.ReverseProxy.Forwarder;

namespace GpuSplit.Shim.Forwarding;

/// <summary>How one attempt to forward a request ended.</summary>
public enum ForwardResult
{
    /// <summary>The box answered; its status went to the client.</summary>
    Answered,

    /// <summary>No connection to the box and not a byte of the body sent: the request can go elsewhere or wait.</summary>
    NotConnected,

    /// <summary>Broke after the request left (or the answer started): the client got an error status or a cut connection.</summary>
    Failed,
}

public sealed record ForwardOutcome(ForwardResult Result, int StatusCode, ForwarderError Error, string? Detail);
