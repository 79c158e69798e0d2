using System.Diagnostics;

namespace GpuSplit.Shim.Tests;

/// <summary>The real program, started as a process: bad configuration is one clear line and a non-zero exit.</summary>
public sealed class ProgramTests
{
    [Theory]
    [InlineData(new string[0], "no GPU box configured: set Shim__Upstreams__0__Url and Shim__Upstreams__0__Agent")]
    [InlineData(new[] { "Shim__Upstreams__0__Url=http://gpu-box:3003", "Shim__Upstreams__0__Agent=gpu-box:3004" }, "Shim:Upstreams:0:Agent 'gpu-box:3004' is not an http:// or https:// URL")]
    [InlineData(new[] { "Shim__Upstreams__0__Url=http://gpu-box:3003", "Shim__Upstreams__0__Agent=http://gpu-box:3004", "Shim__HoldLimit=240" }, "Shim:HoldLimit must be a duration between 0 and one day, written like 00:04:00 (it is 240.00:00:00)")]
    public async Task Bad_configuration_is_one_line_on_stderr_and_exit_code_2(string[] environment, string message)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "shim.dll"));
        start.ArgumentList.Add("--urls=http://127.0.0.1:0");
        foreach (var variable in environment)
        {
            var (name, value) = (variable[..variable.IndexOf('=', StringComparison.Ordinal)], variable[(variable.IndexOf('=', StringComparison.Ordinal) + 1)..]);
            start.Environment[name] = value;
        }

        using var shim = Process.Start(start)!;
        var stdout = shim.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var stderr = shim.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        limit.CancelAfter(TimeSpan.FromSeconds(60));
        await shim.WaitForExitAsync(limit.Token);

        Assert.Equal(2, shim.ExitCode);
        var lines = (await stderr).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        var line = Assert.Single(lines);
        Assert.StartsWith("shim: configuration: ", line, StringComparison.Ordinal);
        Assert.Contains(message, line, StringComparison.Ordinal);
        Assert.Equal("", await stdout);
    }
}
