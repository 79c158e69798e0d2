using System.Net;
using System.Net.Sockets;

namespace GpuSplit.Bench.Shim;

/// <summary>
/// A loopback port that behaves like a powered-off box: a listener whose accept queue is full and never
/// drained, so new connections get no answer at all and hang until the client's connect timeout (a closed
/// port would answer at once with a reset, which a sleeping box does not).
/// </summary>
public sealed class SleepingPort : IDisposable
{
    private readonly Socket _listener = new(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    private readonly List<Socket> _queued = [];

    /// <param name="port">0 for any; a given port puts a box back to sleep where the shim already looks for it.</param>
    public SleepingPort(int port = 0)
    {
        _listener.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.ReuseAddress, true);
        _listener.Bind(new IPEndPoint(IPAddress.Loopback, port));
        _listener.Listen(0);
        var endpoint = (IPEndPoint)_listener.LocalEndPoint!;
        Port = endpoint.Port;
        Address = new Uri($"http://127.0.0.1:{endpoint.Port}");
        for (var i = 0; i < 3; i++)
        {
            var filler = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { Blocking = false };
            try
            {
                filler.Connect(endpoint);
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.WouldBlock)
            {
            }

            _queued.Add(filler);
        }

        // Give the fillers' handshakes time to land in the accept queue before anyone relies on it being full.
        Thread.Sleep(200);
    }

    public int Port { get; }

    public Uri Address { get; }

    public void Dispose()
    {
        foreach (var socket in _queued)
        {
            socket.Dispose();
        }

        _listener.Dispose();
    }
}
