using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace GpuSplit.Shim.Tests;

/// <summary>The real program, started as a process: bad configuration or a taken port is one clear line and a non-zero exit.</summary>
public sealed class ProgramTests
{
    [Theory]
    [InlineData(new string[0], "no GPU box configured: set Shim__Upstreams__0__Url and Shim__Upstreams__0__Agent")]
    [InlineData(new[] { "Shim__Upstreams__0__Url=http://gpu-box:3003", "Shim__Upstreams__0__Agent=gpu-box:3004" }, "Shim:Upstreams:0:Agent 'gpu-box:3004' is not an http:// or https:// URL")]
    [InlineData(new[] { "Shim__Upstreams__0__Url=http://gpu-box:3003", "Shim__Upstreams__0__Agent=http://gpu-box:3004", "Shim__HoldLimit=240" }, "Shim:HoldLimit must be a duration between 0 and one day, written like 00:04:00 (it is 240.00:00:00)")]
    [InlineData(new[] { "Shim__Upstreams__0__Url=http://gpu-box:3003", "Shim__Upstreams__0__Agent=http://gpu-box:3004", "Shim__Upstreams__0__Wake__Mac=aa:bb:cc:dd:ee" }, "Shim:Upstreams:0:Wake:Mac 'aa:bb:cc:dd:ee' is not a MAC address")]
    public async Task Bad_configuration_is_one_line_on_stderr_and_exit_code_2(string[] environment, string message)
    {
        var (exitCode, stdout, stderr) = await RunShimAsync("http://127.0.0.1:0", environment.Select(v => (v[..v.IndexOf('=', StringComparison.Ordinal)], v[(v.IndexOf('=', StringComparison.Ordinal) + 1)..])));

        Assert.Equal(2, exitCode);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("shim: configuration: ", line, StringComparison.Ordinal);
        Assert.Contains(message, line, StringComparison.Ordinal);
        Assert.Equal("", stdout);
    }

    [Fact]
    public async Task A_port_already_taken_is_one_line_on_stderr_and_exit_code_1_without_a_stack_trace()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;

        var (exitCode, stdout, stderr) = await RunShimAsync($"http://127.0.0.1:{port}",
            [("Shim__Upstreams__0__Url", "http://127.0.0.1:9"), ("Shim__Upstreams__0__Agent", "http://127.0.0.1:9")]);

        Assert.Equal(1, exitCode);
        var line = Assert.Single(stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Equal($"shim: cannot listen: Failed to bind to address http://127.0.0.1:{port}: address already in use.", line);
        Assert.DoesNotContain("   at ", stdout + stderr, StringComparison.Ordinal);
    }

    private static async Task<(int ExitCode, string Stdout, string Stderr)> RunShimAsync(string urls, IEnumerable<(string Name, string Value)> environment)
    {
        var start = ShimProgram.StartInfo([$"--urls={urls}"], withLedger: false);
        start.RedirectStandardOutput = true;
        start.RedirectStandardError = true;
        start.UseShellExecute = false;
        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        using var shim = Process.Start(start)!;
        var stdout = shim.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var stderr = shim.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        limit.CancelAfter(TimeSpan.FromSeconds(60));
        try
        {
            await shim.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            shim.Kill();
            throw;
        }

        return (shim.ExitCode, await stdout, await stderr);
    }
}
