using Yarp.ReverseProxy.Forwarder;

namespace GpuSplit.Shim.Forwarding;

/// <summary>
/// Immich's ML service fails transiently in two ways: its worker dies (an OOM kill, a crash: the connection drops
/// before an answer) or ONNX Runtime runs out of GPU memory and every request gets a 500 until the agent restarts
/// the container. Both say nothing about the job itself, so it is worth sending again. A 500 for anything else (an
/// undecodable image, an unknown model) would fail again and goes to Immich as it is.
/// </summary>
public sealed class TransientFailurePolicy : ITransientFailurePolicy
{
    // ONNX Runtime's CUDA, BFC-arena and cuBLAS/cuDNN allocation failures (Immich issues 11979, 31675), Python's
    // MemoryError, and a worker that died under the request.
    private static readonly string[] OutOfMemoryWords = ["out of memory", "failed to allocate memory", "_alloc_failed", "memoryerror"];
    private static readonly string[] WorkerFailedWords = ["worker failed", "worker died", "worker crashed", "worker timeout"];

    public string? ForAnswer(int statusCode, string? body)
    {
        if (statusCode is StatusCodes.Status502BadGateway or StatusCodes.Status503ServiceUnavailable or StatusCodes.Status504GatewayTimeout)
        {
            // Something between the shim and the ML service, or the service itself, says it could not take the work.
            return ReplayReasons.GatewayError;
        }

        if (statusCode < 500 || body is null)
        {
            return null;
        }

        if (OutOfMemoryWords.Any(w => body.Contains(w, StringComparison.OrdinalIgnoreCase)))
        {
            return ReplayReasons.OutOfMemory;
        }

        return WorkerFailedWords.Any(w => body.Contains(w, StringComparison.OrdinalIgnoreCase)) ? ReplayReasons.WorkerFailed : null;
    }

    public string? ForTransport(ForwarderError error) => error switch
    {
        // Refused, reset or dropped before the answer's head, the body not taken by the box, or the box gone
        // between its answer's head and its first body byte (nothing reached the client yet).
        ForwarderError.Request or ForwarderError.RequestBodyDestination or ForwarderError.ResponseBodyDestination => ReplayReasons.ConnectionFailed,
        ForwarderError.RequestTimedOut => ReplayReasons.TimedOut,
        _ => null,
    };
}
