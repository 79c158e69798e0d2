using GpuSplit.Shim.Forwarding;

namespace GpuSplit.Shim.Classification;

/// <summary>
/// The request body as the client sent it: the start the classifier consumed, then the rest from Kestrel. Read once,
/// from its first byte, by the forwarder (or a job's spool).
/// </summary>
public sealed class BodyWithStart(ReadOnlyMemory<byte> start, Stream rest) : ReadOnlyBodyStream
{
    private int _position;

    public override int Read(byte[] buffer, int offset, int count) =>
        _position < start.Length ? TakeStart(buffer.AsSpan(offset, count)) : rest.Read(buffer, offset, count);

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        // A zero-byte read asks whether data is there: while the start lasts, it is.
        if (_position < start.Length)
        {
            return ValueTask.FromResult(TakeStart(buffer.Span));
        }

        return rest.ReadAsync(buffer, cancellationToken);
    }

    private int TakeStart(Span<byte> buffer)
    {
        var length = Math.Min(buffer.Length, start.Length - _position);
        if (length <= 0)
        {
            return 0;
        }

        start.Span.Slice(_position, length).CopyTo(buffer);
        _position += length;
        return length;
    }
}
