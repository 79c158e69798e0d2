using System.Net.Sockets;

namespace GpuSplit.Shim.Forwarding;

/// <summary>
/// A connection to a GPU box that takes in what the box sent in one read of up to <see cref="BufferBytes"/>. HttpClient
/// reads an answer's head into a 4 KiB buffer; an Immich answer of ~6 KB (a CLIP embedding) then took a read for the
/// head, a 1-byte peek (YARP waits for data before it takes a buffer) and a read for the rest, and went on to the
/// client in two sends. Here the rest is already in memory: the peek and the second read are not system calls.
/// </summary>
/// <remarks>
/// Only reads are buffered, and only one at a time runs (HttpClient's connection reads its answers in order); writes,
/// which may run beside a read, go straight to the socket.
/// </remarks>
public sealed class ReadAheadStream(Stream inner) : Stream
{
    /// <summary>Larger than Immich's usual answers (a CLIP embedding's JSON is ~6 KB), small per connection.</summary>
    public const int BufferBytes = 16 * 1024;

    private readonly byte[] _buffer = new byte[BufferBytes];
    private int _start;
    private int _end;

    /// <summary>For <see cref="SocketsHttpHandler.ConnectCallback"/>: a TCP connection as HttpClient makes it, read ahead.</summary>
    public static async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
            return new ReadAheadStream(new NetworkStream(socket, ownsSocket: true));
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public override bool CanRead => true;

    public override bool CanWrite => true;

    public override bool CanSeek => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_end > _start)
        {
            return Take(buffer.Span);
        }

        // A zero-byte read waits for data without a buffer; a large one goes straight to the socket.
        if (buffer.Length == 0 || buffer.Length >= BufferBytes)
        {
            return await inner.ReadAsync(buffer, cancellationToken);
        }

        _start = 0;
        _end = await inner.ReadAsync(_buffer, cancellationToken);
        return Take(buffer.Span);
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(Span<byte> buffer)
    {
        if (_end > _start)
        {
            return Take(buffer);
        }

        if (buffer.Length == 0 || buffer.Length >= BufferBytes)
        {
            return inner.Read(buffer);
        }

        _start = 0;
        _end = inner.Read(_buffer);
        return Take(buffer);
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default) =>
        inner.WriteAsync(buffer, cancellationToken);

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        inner.WriteAsync(buffer, offset, count, cancellationToken);

    public override void Write(ReadOnlySpan<byte> buffer) => inner.Write(buffer);

    public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override void Flush() => inner.Flush();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    private int Take(Span<byte> destination)
    {
        var count = Math.Min(destination.Length, _end - _start);
        _buffer.AsSpan(_start, count).CopyTo(destination);
        _start += count;
        return count;
    }
}
