using System.Net;
using System.Net.Sockets;

namespace GpuSplit.Testing.Network;

/// <summary>
/// A loopback TCP port nobody listens on right now, for programs that must be told their port up front (a
/// container on the host network, a child process). Several developers run tests on one machine: never a fixed port.
/// </summary>
public static class FreePort
{
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
