using System.Net.Sockets;

namespace GpuSplit.Shim.Forwarding;

/// <summary>
/// A connection to a GPU box (HttpClient's, HTTP/1.1) that spends fewer system calls per request: each one is a large
/// part of a small request's cost to the proxy, a send most of all (on loopback the sender's call also delivers the
/// bytes and wakes the reader; perf, docs/shim.md "Resources").
/// <list type="bullet">
/// <item>Reads: what the box sent is taken in one read of up to <see cref="BufferBytes"/>. HttpClient reads an answer's
/// head into a 4 KiB buffer; a ~6 KB Immich answer (a CLIP embedding) then took a read for the head, a 1-byte peek (YARP
/// waits for data before it takes a buffer) and a read for the rest. Here the rest is already in memory.</item>
/// <item>Writes: YARP flushes a request's head on its own before it copies the body, so each request with a body
/// took two sends. When the forwarder says a body follows (<see cref="HoldHeadForBody"/>), the request's first write,
/// its head, is kept and leaves with the body's first bytes in one send.</item>
/// </list>
/// </summary>
/// <remarks>
/// Only one read runs at a time and writes are one after another (HttpClient's HTTP/1.1 connection); a read may run
/// beside a write (HttpClient reads ahead on a pooled connection before it sends), so the two keep separate buffers.
/// A held head always has a write after it: a body of known, non-zero length is written or the request fails, and
/// then HttpClient drops the connection, held bytes and all. Only a write that ends a head is held. With
/// <c>Expect: 100-continue</c> HttpClient would wait for the box's answer to the head before it sends the body; the
/// forwarder does not hold such a head.
/// </remarks>
public sealed class BoxConnectionStream(Stream inner) : ForwardOnlyStream
{
    /// <summary>Larger than Immich's usual answers (a CLIP embedding's JSON is ~6 KB), small per connection.</summary>
    public const int BufferBytes = 16 * 1024;

    /// <summary>Room for a held head and the body's first bytes (HttpClient's head buffer is 4 KiB); a larger head is not held.</summary>
    public const int HeldBytes = 8 * 1024;

    // The forwarder's word reaches the connection through the request's async flow: HttpClient picks the connection,
    // and nothing else of the request reaches its stream.
    private static readonly AsyncLocal<HeadHold?> PendingHold = new();

    private readonly byte[] _buffer = new byte[BufferBytes];
    private int _start;
    private int _end;
    private byte[]? _held;
    private int _heldLength;

    /// <summary>
    /// Called by the forwarder, in the async flow that then sends one request whose body has a known, non-zero length:
    /// that request's first write (its head) is kept until the body's first bytes come.
    /// </summary>
    public static void HoldHeadForBody() => PendingHold.Value = new HeadHold();

    /// <summary>For <see cref="SocketsHttpHandler.ConnectCallback"/>: a TCP connection as HttpClient makes it, read ahead.</summary>
    public static async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
            return new BoxConnectionStream(new NetworkStream(socket, ownsSocket: true));
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    public override bool CanRead => true;

    public override bool CanWrite => true;

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

    public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_heldLength > 0)
        {
            return SendHeldWithAsync(buffer, cancellationToken);
        }

        // Only the request's first write is its head; a later one may be the body's last. A first write that does not
        // end a head already carries body bytes (were YARP to stop flushing the head alone), and may be the last.
        if (PendingHold.Value is { Taken: false } hold)
        {
            hold.Taken = true;
            if (buffer.Length <= HeldBytes && buffer.Span.EndsWith("\r\n\r\n"u8))
            {
                _held ??= new byte[HeldBytes];
                buffer.Span.CopyTo(_held);
                _heldLength = buffer.Length;
                return default;
            }
        }

        return inner.WriteAsync(buffer, cancellationToken);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        SendHeld();
        inner.Write(buffer);
    }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override async Task FlushAsync(CancellationToken cancellationToken)
    {
        if (_heldLength > 0)
        {
            await inner.WriteAsync(TakeHeld(), cancellationToken);
        }

        await inner.FlushAsync(cancellationToken);
    }

    public override void Flush()
    {
        SendHeld();
        inner.Flush();
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            inner.Dispose();
        }

        base.Dispose(disposing);
    }

    /// <summary>The held head and as much of <paramref name="buffer"/> as fits after it in one send, then the rest.</summary>
    private async ValueTask SendHeldWithAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken)
    {
        var fits = Math.Min(buffer.Length, HeldBytes - _heldLength);
        buffer.Span[..fits].CopyTo(_held!.AsSpan(_heldLength));
        _heldLength += fits;
        await inner.WriteAsync(TakeHeld(), cancellationToken);
        if (fits < buffer.Length)
        {
            await inner.WriteAsync(buffer[fits..], cancellationToken);
        }
    }

    private void SendHeld()
    {
        if (_heldLength > 0)
        {
            inner.Write(TakeHeld().Span);
        }
    }

    private ReadOnlyMemory<byte> TakeHeld()
    {
        var held = _held!.AsMemory(0, _heldLength);
        _heldLength = 0;
        return held;
    }

    private int Take(Span<byte> destination)
    {
        var count = Math.Min(destination.Length, _end - _start);
        _buffer.AsSpan(_start, count).CopyTo(destination);
        _start += count;
        return count;
    }

    private sealed class HeadHold
    {
        public bool Taken { get; set; }
    }
}
