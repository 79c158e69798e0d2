using System.Globalization;
using GpuSplit.Protos.V1;
using GpuSplit.Testing;
using GpuSplit.Testing.Docker;
using GpuSplit.Testing.Grpc;
using GpuSplit.Testing.MlStandIn;

namespace GpuSplit.Agent.Tests;

/// <summary>
/// The GPU watch through the real NVML binding and the fake NVML library, with the processes of real containers:
/// which memory is the worker's, which is contention, when the card counts as exhausted, and life without NVML.
/// </summary>
public sealed class GpuTests
{
    private const ulong Mib = 1024 * 1024;
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Processes_are_mapped_to_their_containers_and_other_processes_count_as_contention()
    {
        var engine = await DockerEngine.MachineAsync();
        await using var worker = await MlStandInContainer.StartAsync(engine);
        // Another container drawing on the card, like a game streamed from a container on the gaming PC: NVML lists
        // it among the graphics processes, not the compute ones.
        await using var game = await MlStandInContainer.StartAsync(engine);
        var workerPid = (uint)(await worker.StateAsync()).Pid;
        var gamePid = (uint)(await game.StateAsync()).Pid;
        await using var nvml = await FakeNvml.StartAsync(FakeNvmlState.OneGtx1060(
            new FakeGpuProcess(workerPid, 1500 * Mib), new FakeGpuProcess(gamePid, 2200 * Mib) { Graphics = true }), TestContext.Current.CancellationToken);
        await using var agent = await AgentUnderTest.StartAsync(worker, Nvml(FakeNvml.LibraryPath));

        var status = await agent.WaitForAsync(s => s.Serving && s.Gpu.Gpus.Count == 1 && s.Gpu.Gpus[0].Processes.Any(p => p.IsWorker), Bound,
            "SERVING with the worker's GPU process recognized");
        var gpu = status.Gpu.Gpus[0];
        Assert.True(status.Gpu.Available);
        Assert.Equal("NVIDIA GeForce GTX 1060 6GB", gpu.Name);
        Assert.Equal(6144 * Mib, gpu.MemoryTotalBytes);
        Assert.Equal(3700 * Mib, gpu.MemoryUsedBytes);
        Assert.Equal((6, 1), (gpu.ComputeCapabilityMajor, gpu.ComputeCapabilityMinor));
        var mine = Assert.Single(gpu.Processes, p => p.Pid == workerPid);
        Assert.True(mine.IsWorker);
        Assert.Equal(worker.Name, mine.ContainerName);
        Assert.Equal(worker.Id, mine.ContainerId);
        var theirs = Assert.Single(gpu.Processes, p => p.Pid == gamePid);
        Assert.False(theirs.IsWorker);
        Assert.Equal(game.Name, theirs.ContainerName);
        Assert.Equal(2200 * Mib, gpu.ContentionBytes);

        using var http = new HttpClient();
        var metrics = await http.GetStringAsync(new Uri($"http://127.0.0.1:{agent.MetricsPort}/metrics"), TestContext.Current.CancellationToken);
        Assert.Contains("DCGM_FI_DEV_FB_USED{gpu=\"0\",UUID=\"GPU-00000000-1060-0000-0000-000000000000\",modelName=\"NVIDIA GeForce GTX 1060 6GB\"} 3700", metrics,
            StringComparison.Ordinal);
        Assert.Contains(string.Create(CultureInfo.InvariantCulture, $"gpusplit_gpu_contention_bytes{{gpu=\"0\",UUID=\"GPU-00000000-1060-0000-0000-000000000000\",modelName=\"NVIDIA GeForce GTX 1060 6GB\"}} {2200 * Mib}"),
            metrics, StringComparison.Ordinal);
        Assert.Contains("gpusplit_worker_serving 1", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_card_full_for_the_whole_window_is_reported_not_serving_and_not_restarted_by_default()
    {
        var engine = await DockerEngine.MachineAsync();
        await using var worker = await MlStandInContainer.StartAsync(engine);
        var workerPid = (uint)(await worker.StateAsync()).Pid;
        await using var nvml = await FakeNvml.StartAsync(FakeNvmlState.OneGtx1060(new FakeGpuProcess(workerPid, 3000 * Mib)),
            TestContext.Current.CancellationToken);
        var settings = Nvml(FakeNvml.LibraryPath);
        settings["Agent:Watchdog:VramWindow"] = "00:00:02";
        await using var agent = await AgentUnderTest.StartAsync(worker, settings);
        await agent.WaitForAsync(s => s.Serving && s.Gpu.Available, Bound, "SERVING at half the card");

        nvml.Update(FakeNvmlState.OneGtx1060(new FakeGpuProcess(workerPid, 6100 * Mib)));
        var full = await agent.WaitForAsync(s => s.Gpu.ExhaustedReason.Length > 0, Bound, "the card to count as exhausted");
        Assert.False(full.Serving);
        Assert.Equal(WorkerState.Running, full.Worker.State);
        Assert.Contains("99.3% used", full.Gpu.ExhaustedReason, StringComparison.Ordinal);
        Assert.Equal(full.Gpu.ExhaustedReason, full.NotServingReason);
        var failure = await agent.WaitForAsync(s => s.Worker.LastFailure?.Class == FailureClass.VramExhausted, Bound, "a VRAM_EXHAUSTED report");
        Assert.False(failure.Worker.LastFailure.Restarted);
        Assert.Equal(0u, failure.Worker.RestartCount);
        Assert.Equal(PythonGrpcHealth.NotServing, await PythonGrpcHealth.CheckAsync(agent.Target));

        nvml.Update(FakeNvmlState.OneGtx1060(new FakeGpuProcess(workerPid, 3000 * Mib)));
        var back = await agent.WaitForAsync(s => s.Serving, Bound, "SERVING once memory is free again");
        Assert.Equal("", back.Gpu.ExhaustedReason);
        Assert.Equal(0u, back.Worker.RestartCount);
    }

    [Fact]
    public async Task Without_NVML_the_status_says_why_and_the_worker_is_still_watched_and_restarted()
    {
        var engine = await DockerEngine.MachineAsync();
        await using var worker = await MlStandInContainer.StartAsync(engine);
        var missing = Path.Combine(Path.GetTempPath(), $"no-driver-{Guid.NewGuid():N}", "libnvidia-ml.so.1");
        await using var agent = await AgentUnderTest.StartAsync(worker, Nvml(missing));

        var status = await agent.WaitForAsync(s => s.Serving, Bound, "SERVING without NVML");
        Assert.False(status.Gpu.Available);
        Assert.Contains(missing, status.Gpu.UnavailableReason, StringComparison.Ordinal);
        Assert.Empty(status.Gpu.Gpus);

        await worker.ControlAsync("exit", "4");
        var restarted = await agent.WaitForAsync(s => s.Worker.RestartCount == 1 && s.Serving, Bound, "a restart after the exit");
        Assert.Equal(FailureClass.Exited, restarted.Worker.LastFailure.Class);
        Assert.Contains("exited with code 4", restarted.Worker.LastFailure.Reason, StringComparison.Ordinal);
    }

    private static Dictionary<string, string> Nvml(string library) => new()
    {
        ["Agent:Gpu:Enabled"] = "true",
        ["Agent:Gpu:NvmlLibrary"] = library,
    };
}
