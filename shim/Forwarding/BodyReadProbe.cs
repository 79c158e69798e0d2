using System.Runtime.CompilerServices;

namespace GpuSplit.Shim.Forwarding;

/// <summary>
/// Wraps the request body for one forwarding attempt and remembers whether the attempt read any of it, and all of it.
/// An attempt that failed before reading a byte left the body whole, so the request can still be retried; one that
/// read to the end sent the box the whole job, so the box may have done it even if the client then went away.
/// </summary>
/// <remarks>
/// The caller's token is not passed on to the client's body (Kestrel's request pipe). A read of that pipe cancelled by
/// a token leaves it marked as being read, and Kestrel's own drain at the end of the request then fails with
/// "Reading is already in progress". Such a read ends anyway when the client sends more, goes away, or is too slow
/// (Kestrel's minimum data rate), and YARP waits for it before it returns.
/// </remarks>
public sealed class BodyReadProbe(Stream inner) : ReadOnlyBodyStream
{
    public bool Started { get; private set; }

    /// <summary>A read found the end of the body: all of it went to the box.</summary>
    public bool Finished { get; private set; }

    public override int Read(byte[] buffer, int offset, int count)
    {
        Started = true;
        var read = inner.Read(buffer, offset, count);
        Finished |= read == 0 && count > 0;
        return read;
    }

    // Pooled: one read per buffer of every forwarded body, and most complete asynchronously.
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Started = true;
        var read = await inner.ReadAsync(buffer, CancellationToken.None);
        Finished |= read == 0 && !buffer.IsEmpty;
        return read;
    }
}
