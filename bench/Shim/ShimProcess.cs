using System.Diagnostics;

namespace GpuSplit.Bench.Shim;

/// <summary>The shim as its own process (<c>dotnet shim.dll</c>, the Release build beside the bench), on a loopback port.</summary>
public sealed class ShimProcess : IAsyncDisposable
{
    private readonly Process _process;

    private ShimProcess(Process process, Uri address)
    {
        _process = process;
        Address = address;
    }

    public Uri Address { get; }

    public Resident Memory => LocalProcesses.Memory(_process.Id);

    public static async Task<ShimProcess> StartAsync(Uri ml, Uri agent, CancellationToken cancellationToken)
    {
        var port = LocalProcesses.FreePort();
        var start = new ProcessStartInfo("dotnet") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "shim.dll"));
        start.ArgumentList.Add($"--urls=http://127.0.0.1:{port}");
        start.Environment["Shim__Upstreams__0__Name"] = "gpu-box";
        start.Environment["Shim__Upstreams__0__Url"] = ml.ToString();
        start.Environment["Shim__Upstreams__0__Agent"] = agent.ToString();
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        var process = Process.Start(start) ?? throw new InvalidOperationException("the shim did not start");
        // Drained so that a chatty log never blocks the shim on a full pipe.
        _ = process.StandardOutput.ReadToEndAsync(CancellationToken.None);
        _ = process.StandardError.ReadToEndAsync(CancellationToken.None);
        await LocalProcesses.WaitForPortAsync(port, cancellationToken);
        return new ShimProcess(process, new Uri($"http://127.0.0.1:{port}"));
    }

    public ValueTask DisposeAsync()
    {
        LocalProcesses.Stop(_process);
        _process.Dispose();
        return ValueTask.CompletedTask;
    }
}
