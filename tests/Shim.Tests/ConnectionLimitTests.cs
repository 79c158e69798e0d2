using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using GpuSplit.Planner.Service;
using GpuSplit.Shim.Tests.Infrastructure;

namespace GpuSplit.Shim.Tests;

/// <summary>A cheap client that opens connections and sends nothing cannot lock Immich out of the shim.</summary>
public sealed class ConnectionLimitTests
{
    // One client's worth of idle connections (the figure); the test process holds both ends of each, so it
    // needs twice as many descriptors (ulimit -n; the .NET runtime raises its soft limit to the hard one).
    private const int IdleConnections = 2_000;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Two_thousand_idle_connections_leave_a_good_job_answered()
    {
        await using var box = await GpuBox.StartAsync();
        await using var shim = await ShimUnderTest.StartAsync([box.Endpoints]);
        await shim.WaitForStateAsync(0, "online");
        var idle = new List<Socket>(IdleConnections);
        try
        {
            for (var i = 0; i < IdleConnections; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                idle.Add(socket);
                await socket.ConnectAsync(IPAddress.Loopback, shim.BaseAddress.Port, Ct);
            }

            // Kestrel accepts in order: once a connection opened after them all is answered, the shim holds every one.
            var ping = await RawHttp.SendAsync(shim.BaseAddress, "GET /ping HTTP/1.1\r\nHost: shim\r\n\r\n");
            Assert.StartsWith("HTTP/1.1 200 ", ping, StringComparison.Ordinal);

            // A fresh client, as Immich's server would be; "answered" is the test, the time is only reported.
            using var immich = ShimUnderTest.NewClient(shim.BaseAddress);
            using var generous = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            generous.CancelAfter(TimeSpan.FromSeconds(60));
            var clock = Stopwatch.StartNew();
            using var response = await immich.SendAsync(ImmichPredictRequest.Job(JobKind.FaceDetection, PreviewJpeg.Small()), generous.Token);
            clock.Stop();

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            TestContext.Current.TestOutputHelper?.WriteLine(
                $"a face job beside {IdleConnections} idle connections answered in {clock.Elapsed.TotalMilliseconds:0} ms; {OpenFileLimit()}");
        }
        finally
        {
            foreach (var socket in idle)
            {
                socket.Dispose();
            }
        }
    }

    [Fact]
    public async Task A_connection_that_sends_nothing_is_closed_by_the_shim()
    {
        await using var box = await GpuBox.StartAsync();
        await using var shim = await ShimUnderTest.StartAsync([box.Endpoints]);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync(IPAddress.Loopback, shim.BaseAddress.Port, Ct);

        // Kestrel's default keep-alive of 130 s would keep it past this generous wait; the shim's closes it in seconds.
        using var generous = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        generous.CancelAfter(TimeSpan.FromSeconds(60));
        var read = await socket.ReceiveAsync(new byte[16], SocketFlags.None, generous.Token);

        Assert.Equal(0, read);
    }

    private static string OpenFileLimit() =>
        File.Exists("/proc/self/limits")
            ? File.ReadLines("/proc/self/limits").FirstOrDefault(l => l.StartsWith("Max open files", StringComparison.Ordinal))?.Trim() ?? ""
            : "";
}
