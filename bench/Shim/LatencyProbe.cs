using System.Buffers.Text;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace GpuSplit.Bench.Shim;

/// <summary>What the one-by-one probe measured: the median and the 99th percentile of its requests, in ms.</summary>
public sealed record ProbeResult(double P50Ms, double P99Ms, long Requests, long NotOk);

/// <summary>
/// One connection, one request at a time, on a thread of its own with blocking socket calls: for each request, the time
/// from its send to its answer's last byte. It exists because wrk's own tail is larger than a proxy's at 1 connection:
/// straight to the upstream nginx, wrk's p99.5 was 549-587 µs where a plain C client's was 67-98 µs and this probe's
/// 71-72 (docs/shim.md, "The 1-connection tail"), so wrk's p99 there measures wrk. Nothing is allocated per request,
/// so the benchmark process's garbage collector stays out of the figures.
/// </summary>
public static class LatencyProbe
{
    // Room for every request of a run at a rate no loopback proxy here reaches; a run that fills it ends early.
    private const int MaxRequestsPerSecond = 200_000;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(10);

    public static Task<ProbeResult> RunAsync(Uri target, string bodyFile, string contentType, TimeSpan duration, CancellationToken cancellationToken)
    {
        var request = Request(target, File.ReadAllBytes(bodyFile), contentType);
        var result = new TaskCompletionSource<ProbeResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        var thread = new Thread(() =>
        {
            try
            {
                result.SetResult(Run(target, request, duration, cancellationToken));
            }
            catch (Exception e)
            {
                result.SetException(e);
            }
        })
        { IsBackground = true, Name = "latency probe" };
        thread.Start();
        return result.Task;
    }

    private static byte[] Request(Uri target, byte[] body, string contentType)
    {
        var head = Encoding.ASCII.GetBytes(
            $"POST /predict HTTP/1.1\r\nHost: {target.Authority}\r\nContent-Type: {contentType}\r\n" +
            $"Content-Length: {body.Length.ToString(CultureInfo.InvariantCulture)}\r\n\r\n");
        return [.. head, .. body];
    }

    private static ProbeResult Run(Uri target, byte[] request, TimeSpan duration, CancellationToken ct)
    {
        var endpoint = new IPEndPoint(IPAddress.Parse(target.Host), target.Port);
        var durations = new long[(int)(duration.TotalSeconds * MaxRequestsPerSecond)];
        var buffer = new byte[64 * 1024];
        var count = 0;
        long notOk = 0;
        Socket? socket = null;
        var end = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        try
        {
            while (count < durations.Length && Stopwatch.GetTimestamp() < end && !ct.IsCancellationRequested)
            {
                // Connecting is not timed (wrk starts its clock at the request's write too); nginx closes a connection
                // after its 1,000th request.
                socket ??= Connect(endpoint);
                var start = Stopwatch.GetTimestamp();
                SendAll(socket, request);
                var answer = ReadAnswer(socket, buffer);
                durations[count++] = Stopwatch.GetTimestamp() - start;
                if (answer.Status is < 200 or > 299)
                {
                    notOk++;
                }

                if (answer.Close)
                {
                    socket.Dispose();
                    socket = null;
                }
            }
        }
        finally
        {
            socket?.Dispose();
        }

        var ms = new double[count];
        for (var i = 0; i < count; i++)
        {
            ms[i] = durations[i] * 1000.0 / Stopwatch.Frequency;
        }

        return new ProbeResult(Stats.Median(ms), Stats.Percentile(ms, 0.99), count, notOk);
    }

    private static Socket Connect(IPEndPoint endpoint)
    {
        var socket = new Socket(endpoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp)
        {
            NoDelay = true,
            ReceiveTimeout = (int)Timeout.TotalMilliseconds,
            SendTimeout = (int)Timeout.TotalMilliseconds,
        };
        socket.Connect(endpoint);
        return socket;
    }

    private static void SendAll(Socket socket, byte[] request)
    {
        for (var sent = 0; sent < request.Length;)
        {
            sent += socket.Send(request, sent, request.Length - sent, SocketFlags.None);
        }
    }

    /// <summary>Reads one answer (a head, then a body of Content-Length bytes); keeps only what the head says.</summary>
    private static (int Status, bool Close) ReadAnswer(Socket socket, byte[] buffer)
    {
        var got = 0;
        while (true)
        {
            got += Receive(socket, buffer, got);
            var headEnd = buffer.AsSpan(0, got).IndexOf("\r\n\r\n"u8);
            if (headEnd >= 0)
            {
                var head = Head.Parse(buffer.AsSpan(0, headEnd));
                for (var left = head.ContentLength - (got - headEnd - 4); left > 0;)
                {
                    left -= Receive(socket, buffer, 0);
                }

                return (head.Status, head.Close);
            }

            if (got == buffer.Length)
            {
                throw new InvalidOperationException($"An answer's head exceeded {buffer.Length} bytes.");
            }
        }
    }

    private static int Receive(Socket socket, byte[] buffer, int offset)
    {
        var read = socket.Receive(buffer, offset, buffer.Length - offset, SocketFlags.None);
        return read > 0 ? read : throw new InvalidOperationException("The server closed the connection before its answer ended.");
    }

    private readonly record struct Head(int Status, long ContentLength, bool Close)
    {
        public static Head Parse(ReadOnlySpan<byte> head)
        {
            // "HTTP/1.1 200 OK": the status is the three digits after the first space.
            if (!Utf8Parser.TryParse(head[(head.IndexOf((byte)' ') + 1)..], out int status, out _))
            {
                throw new InvalidOperationException("An answer's status line did not parse.");
            }

            long length = -1;
            var close = false;
            foreach (var range in head.Split("\r\n"u8))
            {
                var line = head[range];
                var colon = line.IndexOf((byte)':');
                if (colon < 0)
                {
                    continue;
                }

                var name = line[..colon].Trim((byte)' ');
                var value = line[(colon + 1)..].Trim((byte)' ');
                if (Ascii.EqualsIgnoreCase(name, "Content-Length"u8) && Utf8Parser.TryParse(value, out long parsed, out _))
                {
                    length = parsed;
                }
                else if (Ascii.EqualsIgnoreCase(name, "Connection"u8))
                {
                    close = Ascii.EqualsIgnoreCase(value, "close"u8);
                }
            }

            // The upstream answers from a file and both proxies pass its length on; a chunked answer would be a change
            // this probe must be taught, not guessed at.
            return length >= 0 ? new Head(status, length, close) : throw new InvalidOperationException("An answer came without Content-Length.");
        }
    }
}
