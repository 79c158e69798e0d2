using GpuSplit.Testing;
using GpuSplit.Testing.GpuBox;
using GpuSplit.Testing.Nginx;

namespace GpuSplit.EndToEnd.Tests.Fixtures;

/// <summary>The comparison anchor: nginx with the seed's config forwards to the box, and fails against a sleeping one after its connect timeout.</summary>
public sealed class SeedNginxTests
{
    [Fact]
    public async Task Nginx_runs_the_seeds_config_forwards_to_the_box_and_logs_a_connect_timeout_while_it_sleeps()
    {
        RequiredPart.Require(File.Exists("/usr/bin/busybox"), "busybox (a tiny web server on the box)");
        var ct = TestContext.Current.CancellationToken;
        await using var box = await GpuBoxHost.CreateAsync(cancellationToken: ct);
        var site = Directory.CreateTempSubdirectory("gpusplit-box-site-");
        try
        {
            await File.WriteAllTextAsync(Path.Combine(site.FullName, "ping"), "pong", ct);
            box.StartProcess(GpuBoxHostTests.BusyboxHttpd(box.BoxAddress, 3003, site.FullName));
            await using var nginx = await SeedNginx.StartAsync(box.BoxAddress.ToString(), 3003, ct);
            foreach (var line in new[]
                     {
                         $"server {box.BoxAddress}:3003 max_fails=3 fail_timeout=30s;", "proxy_connect_timeout 3s;",
                         "proxy_read_timeout 300s;", "proxy_send_timeout 300s;", "proxy_next_upstream error timeout http_502 http_503;",
                     })
            {
                Assert.Contains(line, nginx.Config, StringComparison.Ordinal);
            }

            using var http = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(20) };
            Assert.Equal("pong", await GpuBoxHostTests.UntilAnswersAsync(http, new Uri(nginx.BaseUri, "ping"), ct));
            Assert.Equal(0, nginx.CountErrorLog(SeedNginx.ConnectTimeoutLine));

            await box.SleepAsync(ct);
            using var response = await http.GetAsync(new Uri(nginx.BaseUri, "ping"), ct);
            // Its connect timeout (504) or, about as fast, the kernel's failed ARP (502): one failed connect either way.
            Assert.Contains((int)response.StatusCode, new[] { 502, 504 });
            Assert.Equal(1, nginx.CountErrorLog(SeedNginx.ConnectTimeoutLine) + nginx.CountErrorLog(SeedNginx.NoRouteLine));
        }
        finally
        {
            site.Delete(recursive: true);
        }
    }
}
