using System.Buffers;
using System.IO.Pipelines;
using Microsoft.AspNetCore.Http.Features;

namespace GpuSplit.Shim.Forwarding;

/// <summary>
/// The client's response body while YARP copies the box's answer into it. Kestrel's own response stream sends every
/// write at once, and YARP writes each read from the box as it comes: a ~6 KB Immich answer (a CLIP embedding) is read
/// in two parts (what HttpClient's 4 KiB head buffer held, then the rest), so it went to the client in two sends. Here
/// writes gather in Kestrel's response pipe and go out when <see cref="FlushBytes"/> have gathered or the forwarder
/// flushes at the answer's end: such an answer leaves in one send, with its head.
/// </summary>
/// <remarks>
/// A send is most of a small answer's cost to the proxy: on loopback the sender's system call also delivers the bytes
/// and wakes the reader (perf, docs/shim.md "Resources"). An answer that stops part-way is still aborted as before
/// (YARP aborts the client's connection); the client then receives less of it, which it could not use anyway. Immich's
/// ML service writes each answer whole, so gathering delays nothing a client could read early.
/// </remarks>
public sealed class GatheredResponseBody(IHttpResponseBodyFeature kestrel) : ForwardOnlyStream
{
    /// <summary>Sent once this much has gathered: YARP's copy buffer's size, so a large answer still streams, one read per send.</summary>
    public const int FlushBytes = 64 * 1024;

    private readonly PipeWriter _writer = kestrel.Writer;
    private int _unflushed;
    private bool _started;

    public override bool CanRead => false;

    public override bool CanWrite => true;

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (!_started)
        {
            return StartThenWriteAsync(buffer, cancellationToken);
        }

        _writer.Write(buffer.Span);
        _unflushed += buffer.Length;
        return _unflushed < FlushBytes ? default : FlushGatheredAsync(cancellationToken);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(byte[] buffer, int offset, int count) =>
        throw new NotSupportedException("The response is written asynchronously.");

    /// <summary>
    /// Sends what has gathered, if anything: a flush of Kestrel's pipe before the first write would commit the head,
    /// which the forwarder may still replace (a suppressed error, an empty answer).
    /// </summary>
    public override Task FlushAsync(CancellationToken cancellationToken) =>
        _unflushed == 0 ? Task.CompletedTask : FlushGatheredAsync(cancellationToken).AsTask();

    public override void Flush() => throw new NotSupportedException("The response is written asynchronously.");

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    /// <summary>
    /// Commits the head first, as Kestrel's stream does on a first write (Kestrel's start puts it in the pipe, unsent):
    /// the response has started from here on, which the forwarder's checks and YARP's error handling rely on.
    /// </summary>
    private async ValueTask StartThenWriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
    {
        await kestrel.StartAsync(cancellationToken);
        _started = true;
        await WriteAsync(buffer, cancellationToken);
    }

    private async ValueTask FlushGatheredAsync(CancellationToken cancellationToken)
    {
        _unflushed = 0;
        await _writer.FlushAsync(cancellationToken);
    }
}
