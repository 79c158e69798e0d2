using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using GpuSplit.Testing;
using GpuSplit.Testing.GpuBox;
using GpuSplit.Testing.Processes;

namespace GpuSplit.EndToEnd.Tests.Fixtures;

/// <summary>The rig itself: the box answers on its own address, hangs like a powered-off machine when asleep, and leaves nothing behind.</summary>
public sealed class GpuBoxHostTests
{
    private static readonly TimeSpan Bounded = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task A_box_answers_at_its_address_hangs_while_asleep_and_answers_again_when_awake()
    {
        RequiredPart.Require(File.Exists("/usr/bin/busybox"), "busybox (a tiny web server on the box)");
        var ct = TestContext.Current.CancellationToken;
        await using var box = await GpuBoxHost.CreateAsync(cancellationToken: ct);
        Assert.Equal("up", await box.StateAsync(ct));
        Assert.Equal(box.HostAddress.GetAddressBytes()[..3], box.BoxAddress.GetAddressBytes()[..3]);
        Assert.Equal([10, 203], box.BoxAddress.GetAddressBytes()[..2]);

        var site = Directory.CreateTempSubdirectory("gpusplit-box-site-");
        try
        {
            await File.WriteAllTextAsync(Path.Combine(site.FullName, "index.html"), "gpu box", ct);
            var web = box.StartProcess(BusyboxHttpd(box.BoxAddress, 8080, site.FullName));
            using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(5) };
            var page = await UntilAnswersAsync(http, box.BoxUri(8080), ct);
            Assert.Equal("gpu box", page);

            await box.SleepAsync(ct);
            Assert.Equal("down", await box.StateAsync(ct));
            // A powered-off machine does not refuse: the connect attempt is still waiting when the client gives up.
            var attempt = await TryConnectAsync(box.BoxAddress, 8080, TimeSpan.FromSeconds(1));
            Assert.Equal("no answer", attempt);

            await box.WakeAsync(ct);
            Assert.Equal("up", await box.StateAsync(ct));
            Assert.Equal("gpu box", await UntilAnswersAsync(http, box.BoxUri(8080), ct));
            Assert.False(web.HasExited, web.Output);
        }
        finally
        {
            site.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Disposing_removes_namespace_veth_and_the_processes_on_the_box_and_is_safe_twice()
    {
        RequiredPart.Require(File.Exists("/usr/bin/busybox"), "busybox (a process on the box)");
        var ct = TestContext.Current.CancellationToken;
        var box = await GpuBoxHost.CreateAsync(cancellationToken: ct);
        var sleeper = box.StartProcess(new ProcessStartInfo("/usr/bin/busybox") { ArgumentList = { "sleep", "300" } });
        // Something started inside the namespace without the fixture's knowledge: the rig's destroy must end it too.
        var stray = await box.ExecAsync(["sh", "-c", "setsid /usr/bin/busybox sleep 301 >/dev/null 2>&1 & echo $!"], cancellationToken: ct);
        Assert.Equal(0, stray.ExitCode);
        var strayPid = int.Parse(stray.Stdout.Trim(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(Directory.Exists($"/proc/{strayPid}"));

        await box.DisposeAsync();
        await box.DisposeAsync();

        Assert.False(File.Exists($"/run/netns/{box.Namespace}"));
        Assert.DoesNotContain(NetworkInterfacesWithAddress(box.HostAddress), _ => true);
        Assert.True(sleeper.HasExited);
        Assert.False(Directory.Exists($"/proc/{strayPid}"), "a process left inside the namespace survived destroy");
    }

    [Fact]
    public async Task The_box_has_its_own_docker_engine_whose_host_network_is_the_box()
    {
        var ct = TestContext.Current.CancellationToken;
        await using var box = await GpuBoxHost.CreateAsync(cancellationToken: ct);
        var endpoint = await box.StartDockerAsync(ct);
        Assert.StartsWith("unix:///run/gpubox-rig/", endpoint, StringComparison.Ordinal);
        var socket = endpoint["unix://".Length..];
        Assert.True(File.Exists(socket));

        // The engine itself runs in the box's network namespace: the veth end is its only interface besides lo.
        var engineNet = await box.ExecAsync(["cat", "/proc/net/dev"], cancellationToken: ct);
        Assert.Contains("gbb", engineNet.Stdout, StringComparison.Ordinal);
        var pid = int.Parse(await File.ReadAllTextAsync(Path.Combine(Path.GetDirectoryName(socket)!, "docker.pid"), ct),
            System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(box.Namespace, await NamespaceOfAsync(pid));

        await box.DisposeAsync();
        Assert.False(Directory.Exists(Path.GetDirectoryName(socket)));
        Assert.False(Directory.Exists($"/proc/{pid}"));
        Assert.False(File.Exists($"/run/netns/{box.Namespace}"));
    }

    internal static ProcessStartInfo BusyboxHttpd(IPAddress address, int port, string folder) =>
        new("/usr/bin/busybox") { ArgumentList = { "httpd", "-f", "-p", $"{address}:{port}", "-h", folder } };

    internal static async Task<string> UntilAnswersAsync(HttpClient http, Uri uri, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return await http.GetStringAsync(uri, ct);
            }
            catch (HttpRequestException) when (clock.Elapsed < Bounded)
            {
                await Task.Delay(100, ct);
            }
        }
    }

    internal static async Task<string> TryConnectAsync(IPAddress address, int port, TimeSpan timeout)
    {
        using var client = new TcpClient();
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await client.ConnectAsync(address, port, deadline.Token);
            return "connected";
        }
        catch (OperationCanceledException)
        {
            return "no answer";
        }
        catch (SocketException e)
        {
            return e.SocketErrorCode.ToString();
        }
    }

    private static IEnumerable<string> NetworkInterfacesWithAddress(IPAddress address) =>
        System.Net.NetworkInformation.NetworkInterface.GetAllNetworkInterfaces()
            .Where(n => n.GetIPProperties().UnicastAddresses.Any(a => a.Address.Equals(address)))
            .Select(n => n.Name);

    private static async Task<string> NamespaceOfAsync(int pid) =>
        (await Command.RunAsync("ip", ["netns", "identify", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(10))).Stdout.Trim();
}
