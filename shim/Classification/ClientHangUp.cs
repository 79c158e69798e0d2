namespace GpuSplit.Shim.Classification;

/// <summary>
/// Tells a client that went away from a client that sent something wrong, from what reading its body threw. Either
/// way the client's doing, not a GPU box's: a hang-up is counted as a client abort, neither lost nor rejected.
/// </summary>
public static class ClientHangUp
{
    // Kestrel's text for a body that ended before its Content-Length or last chunk: the client closed its side.
    // Its BadHttpRequestException carries the reason only internally, so the message is what tells.
    private const string UnexpectedEnd = "Unexpected end of request content";

    /// <summary>True for a reset, an abort, or a body cut short; false for a body too large or too slow (a 4xx).</summary>
    public static bool Is(Exception exception) => exception switch
    {
        BadHttpRequestException bad => bad.Message.StartsWith(UnexpectedEnd, StringComparison.Ordinal),
        // A reset (ConnectionResetException), or Kestrel's abort (ConnectionAbortedException, an OperationCanceledException).
        IOException or OperationCanceledException => true,
        _ => exception.InnerException is { } inner && Is(inner),
    };

    /// <summary>
    /// Closes a gone client's connection: nothing is left to answer, and Kestrel must not drain the body or wait for the
    /// next request on it. After the classifier's peek (examined, not consumed), a body read that ends in the hang-up
    /// leaves Kestrel's request pipe mid-read, and its drain and next read then fail ("Reading is already in progress").
    /// </summary>
    public static void Close(HttpContext context) => context.Abort();
}
