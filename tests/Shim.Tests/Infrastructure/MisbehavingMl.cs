using System.Net;
using System.Net.Sockets;
using System.Text;

namespace GpuSplit.Shim.Tests.Infrastructure;

/// <summary>One way an ML service can fail a request, byte for byte on the wire.</summary>
public enum Misbehaviour
{
    /// <summary>Reads the request and closes the connection without a word.</summary>
    CloseBeforeHead,

    /// <summary>Reads the request and resets the connection (RST).</summary>
    ResetBeforeHead,

    /// <summary>Sends a 200 head promising a body, then closes.</summary>
    CloseAfterHead,

    /// <summary>A 200 whose Content-Length is larger than the body sent before the close.</summary>
    Truncated200,

    /// <summary>A chunked 200 cut off after its first chunk.</summary>
    CutChunked200,

    /// <summary>A 500 carrying ONNX Runtime's CUDA out-of-memory text.</summary>
    CudaOutOfMemory500,

    /// <summary>uvicorn's plain 500 (an exception about the request itself).</summary>
    Plain500,

    /// <summary>Reads the request and answers nothing until the caller gives up.</summary>
    HangBeforeHead,

    /// <summary>Sends a 200 head promising a body, then nothing until the caller gives up.</summary>
    HangAfterHead,

    /// <summary>200 with Content-Length: 0.</summary>
    Empty200,

    /// <summary>200, chunked, with no chunk before the last.</summary>
    EmptyChunked200,
}

/// <summary>
/// An ML service on loopback written with a raw socket, so it can fail exactly as told: the first requests get
/// the queued misbehaviours, one each, and every later one a whole, well-formed answer.
/// </summary>
public sealed class MisbehavingMl : IAsyncDisposable
{
    public const string GoodAnswer = """{"clip":"[0.5,0.25]","imageHeight":16,"imageWidth":16}""";

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly Queue<Misbehaviour> _plan;
    private readonly Task _accepting;
    private readonly List<Task> _connections = [];
    private readonly Lock _gate = new();
    private int _calls;

    private MisbehavingMl(IEnumerable<Misbehaviour> plan)
    {
        _plan = new Queue<Misbehaviour>(plan);
        _listener.Start();
        Address = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}");
        _accepting = AcceptAsync();
    }

    public Uri Address { get; }

    /// <summary>/predict requests read in full, misbehaved ones included.</summary>
    public int Calls => Volatile.Read(ref _calls);

    public static MisbehavingMl Start(params Misbehaviour[] plan) => new(plan);

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            lock (_gate)
            {
                _connections.Add(ServeAsync(client));
            }
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using var _ = client;
        var stream = client.GetStream();
        try
        {
            var head = await ReadRequestAsync(stream);
            if (head is null)
            {
                return;
            }

            if (!head.StartsWith("POST ", StringComparison.Ordinal))
            {
                await WriteAsync(stream, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 6\r\nConnection: close\r\n\r\n\"pong\"");
                return;
            }

            Interlocked.Increment(ref _calls);
            Misbehaviour? act;
            lock (_gate)
            {
                act = _plan.TryDequeue(out var next) ? next : null;
            }

            await AnswerAsync(client, stream, act);
        }
        catch (Exception e) when (e is IOException or SocketException or OperationCanceledException)
        {
            // The shim gave up on the connection (its timeout) or the test ended.
        }
    }

    private async Task AnswerAsync(TcpClient client, NetworkStream stream, Misbehaviour? act)
    {
        switch (act)
        {
            case null:
                await WriteAsync(stream, Head("200 OK", $"Content-Length: {Encoding.ASCII.GetByteCount(GoodAnswer)}") + GoodAnswer);
                break;
            case Misbehaviour.CloseBeforeHead:
                break;
            case Misbehaviour.ResetBeforeHead:
                client.Client.LingerState = new LingerOption(true, 0);
                break;
            case Misbehaviour.CloseAfterHead:
                await WriteAsync(stream, Head("200 OK", "Content-Length: 1000"));
                break;
            case Misbehaviour.Truncated200:
                await WriteAsync(stream, Head("200 OK", "Content-Length: 1000") + GoodAnswer[..20]);
                break;
            case Misbehaviour.CutChunked200:
                await WriteAsync(stream, Head("200 OK", "Transfer-Encoding: chunked") + $"14\r\n{GoodAnswer[..20]}\r\n");
                break;
            case Misbehaviour.CudaOutOfMemory500:
                const string oom = """{"detail":"[ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION : CUDA failure 2: out of memory ; GPU=0"}""";
                await WriteAsync(stream, Head("500 Internal Server Error", $"Content-Length: {oom.Length}") + oom);
                break;
            case Misbehaviour.Plain500:
                await WriteAsync(stream, Head("500 Internal Server Error", "Content-Length: 21", "text/plain; charset=utf-8") + "Internal Server Error");
                break;
            case Misbehaviour.HangBeforeHead:
                await WaitForCloseAsync(stream);
                break;
            case Misbehaviour.HangAfterHead:
                await WriteAsync(stream, Head("200 OK", "Content-Length: 1000"));
                await WaitForCloseAsync(stream);
                break;
            case Misbehaviour.Empty200:
                await WriteAsync(stream, Head("200 OK", "Content-Length: 0"));
                break;
            case Misbehaviour.EmptyChunked200:
                await WriteAsync(stream, Head("200 OK", "Transfer-Encoding: chunked") + "0\r\n\r\n");
                break;
        }
    }

    private static string Head(string status, string framing, string type = "application/json") =>
        $"HTTP/1.1 {status}\r\nContent-Type: {type}\r\n{framing}\r\nConnection: close\r\n\r\n";

    private Task WriteAsync(NetworkStream stream, string text) => stream.WriteAsync(Encoding.ASCII.GetBytes(text), _stop.Token).AsTask();

    /// <summary>Until the peer closes its side (the shim's timeout) or the test ends.</summary>
    private async Task WaitForCloseAsync(NetworkStream stream)
    {
        var buffer = new byte[256];
        while (await stream.ReadAsync(buffer, _stop.Token) > 0)
        {
        }
    }

    /// <summary>Reads one request, head and body (Content-Length or chunked); null if the peer closed first.</summary>
    private async Task<string?> ReadRequestAsync(NetworkStream stream)
    {
        var received = new List<byte>();
        var buffer = new byte[16 * 1024];
        int headEnd;
        while ((headEnd = IndexOf(received, "\r\n\r\n"u8)) < 0)
        {
            var read = await stream.ReadAsync(buffer, _stop.Token);
            if (read == 0)
            {
                return null;
            }

            received.AddRange(buffer.AsSpan(0, read));
        }

        var head = Encoding.ASCII.GetString([.. received[..headEnd]]);
        var body = received.Count - headEnd - 4;
        var length = head.Split("\r\n").Select(l => l.Split(':', 2)).Where(p => p.Length == 2 && p[0].Trim().Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
            .Select(p => long.Parse(p[1].Trim(), System.Globalization.CultureInfo.InvariantCulture)).FirstOrDefault();
        var chunked = head.Contains("chunked", StringComparison.OrdinalIgnoreCase);
        var tail = received[(headEnd + 4)..];
        while (chunked ? IndexOf(tail, "0\r\n\r\n"u8) < 0 : body < length)
        {
            var read = await stream.ReadAsync(buffer, _stop.Token);
            if (read == 0)
            {
                return null;
            }

            body += read;
            tail.AddRange(buffer.AsSpan(0, read));
        }

        return head;
    }

    private static int IndexOf(List<byte> bytes, ReadOnlySpan<byte> what) => System.Runtime.InteropServices.CollectionsMarshal.AsSpan(bytes).IndexOf(what);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        await _accepting;
        Task[] connections;
        lock (_gate)
        {
            connections = [.. _connections];
        }

        await Task.WhenAll(connections);
        _stop.Dispose();
    }
}
