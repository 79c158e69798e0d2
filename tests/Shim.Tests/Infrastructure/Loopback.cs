using System.Net;
using System.Net.Sockets;
using System.Text;

namespace GpuSplit.Shim.Tests.Infrastructure;

/// <summary>
/// A loopback port held bound but not listening: connections to it are refused, like a box whose agent
/// does not answer, and no other test on the machine can take it until it is released.
/// </summary>
public sealed class SilentPort : IDisposable
{
    private Socket? _socket = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);

    public SilentPort()
    {
        _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        Port = ((IPEndPoint)_socket.LocalEndPoint!).Port;
    }

    public int Port { get; }

    public Uri Address => new($"http://127.0.0.1:{Port}");

    /// <summary>Frees the port so that a real server can start on it (the box waking up).</summary>
    public void Release()
    {
        _socket?.Dispose();
        _socket = null;
    }

    public void Dispose() => Release();
}

/// <summary>Raw HTTP/1.1 over a socket, for requests HttpClient will not send (CONNECT, absolute-form, a lying Content-Length).</summary>
public static class RawHttp
{
    /// <returns>The response head: status line and headers.</returns>
    public static async Task<string> SendAsync(Uri server, string head, byte[]? body = null)
    {
        var ct = TestContext.Current.CancellationToken;
        using var client = new TcpClient();
        await client.ConnectAsync(server.Host, server.Port, ct);
        var stream = client.GetStream();
        stream.ReadTimeout = 30_000;
        await stream.WriteAsync(Encoding.ASCII.GetBytes(head), ct);
        if (body is not null)
        {
            await stream.WriteAsync(body, ct);
        }

        var received = new StringBuilder();
        var buffer = new byte[4096];
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        while (!received.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            var read = await stream.ReadAsync(buffer, timeout.Token);
            if (read == 0)
            {
                break;
            }

            received.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }

        return received.ToString();
    }
}
