using GpuSplit.Testing.Network;
using GpuSplit.Testing.Processes;
using GpuSplit.Testing.Shim;

namespace GpuSplit.Bench.Shim;

/// <summary>
/// The shim as it ships (<see cref="ShimProgram"/>: the Native AOT executable the bench's build publishes) as its own
/// process on a free loopback port, with its default settings, so that its memory and CPU time can be read.
/// </summary>
public sealed class ShimProcess : IAsyncDisposable
{
    private readonly RunningProcess _process;

    private ShimProcess(RunningProcess process, Uri address)
    {
        _process = process;
        Address = address;
    }

    public Uri Address { get; }

    public int ProcessId => _process.Id;

    public Resident Memory => LocalProcesses.Memory(_process.Id);

    public TimeSpan CpuTime => LocalProcesses.CpuTime(_process.Id);

    /// <summary>Everything it logged so far.</summary>
    public string Output => _process.Output;

    public static async Task<ShimProcess> StartAsync(Uri ml, Uri agent, CancellationToken cancellationToken)
    {
        var port = FreePort.Next();
        var start = ShimProgram.StartInfo([$"--urls=http://127.0.0.1:{port}"]);
        start.Environment["Shim__Upstreams__0__Name"] = "gpu-box";
        start.Environment["Shim__Upstreams__0__Url"] = ml.ToString();
        start.Environment["Shim__Upstreams__0__Agent"] = agent.ToString();
        var process = RunningProcess.Start(start, "shim");
        try
        {
            await LocalProcesses.WaitForPortAsync(port, cancellationToken);
        }
        catch
        {
            await process.DisposeAsync();
            throw;
        }

        return new ShimProcess(process, new Uri($"http://127.0.0.1:{port}"));
    }

    public ValueTask DisposeAsync() => _process.DisposeAsync();
}
