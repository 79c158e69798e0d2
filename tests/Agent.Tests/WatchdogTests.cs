using GpuSplit.Protos.V1;
using GpuSplit.Testing.Docker;
using GpuSplit.Testing.Grpc;
using GpuSplit.Testing.MlStandIn;
using GpuSplit.Testing.Processes;
using Microsoft.Extensions.Time.Testing;

namespace GpuSplit.Agent.Tests;

/// <summary>The failure classes, each caused for real in the stand-in container on a real Docker engine.</summary>
public sealed class WatchdogTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Worker_killed_by_the_kernel_for_memory_is_restarted_and_serves_again()
    {
        var engine = await DockerEngine.MachineAsync();
        await using var worker = await MlStandInContainer.StartAsync(engine, new MlStandInOptions { MemoryLimitMib = 160 });
        await using var agent = await AgentUnderTest.StartAsync(worker);
        await agent.WaitForAsync(s => s.Serving, Bound, "SERVING before the OOM kill");
        var before = await worker.StateAsync();

        await worker.ControlAsync("oom-kill");

        var after = await agent.WaitForAsync(s => s.Worker.LastFailure?.Class == FailureClass.HostOomKilled && s.Serving, Bound,
            "a host-OOM failure and SERVING again");
        Assert.True(after.Worker.LastFailure.Restarted);
        Assert.Equal(1u, after.Worker.RestartCount);
        Assert.Contains("exit code 137", after.Worker.LastFailure.Reason, StringComparison.Ordinal);
        var docker = await worker.StateAsync();
        Assert.True(docker.Running);
        Assert.True(docker.StartedAt > before.StartedAt, "Docker shows no new start of the container");
        Assert.Contains($"restarting {worker.Name}: killed by the kernel for host memory", agent.Logs, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("bfc", "Failed to allocate memory for requested buffer")]
    [InlineData("cublas", "CUBLAS_STATUS_ALLOC_FAILED")]
    [InlineData("cuda", "CUDA failure 2: out of memory")]
    public async Task Cuda_out_of_memory_in_the_logs_restarts_the_stuck_worker(string kind, string expected)
    {
        var engine = await DockerEngine.MachineAsync();
        await using var worker = await MlStandInContainer.StartAsync(engine);
        await using var agent = await AgentUnderTest.StartAsync(worker);
        await agent.WaitForAsync(s => s.Serving, Bound, "SERVING before the CUDA error");
        var before = await worker.StateAsync();

        await worker.ControlAsync("cuda-oom", kind);

        var after = await agent.WaitForAsync(s => s.Worker.LastFailure?.Class == FailureClass.CudaOom && s.Serving, Bound,
            "a CUDA-OOM failure and SERVING again");
        Assert.True(after.Worker.LastFailure.Restarted);
        Assert.Equal(1u, after.Worker.RestartCount);
        Assert.Contains(expected, after.Worker.LastFailure.Reason, StringComparison.Ordinal);
        Assert.True((await worker.StateAsync()).StartedAt > before.StartedAt, "Docker shows no new start of the container");
        // A fresh process: the stuck state that made every /predict fail is gone.
        Assert.Contains("\"stuckError\":null", await StandInStateAsync(worker), StringComparison.Ordinal);
        Assert.Contains($"restarting {worker.Name}: CUDA out of memory seen in logs", agent.Logs, StringComparison.Ordinal);
    }

    [Fact]
    public async Task No_kernel_image_for_the_card_is_reported_and_never_restarted()
    {
        var engine = await DockerEngine.MachineAsync();
        await using var worker = await MlStandInContainer.StartAsync(engine);
        await using var agent = await AgentUnderTest.StartAsync(worker);
        await agent.WaitForAsync(s => s.Serving, Bound, "SERVING before the error");

        await worker.ControlAsync("no-kernel-image");
        var unsupported = await agent.WaitForAsync(s => s.Worker.State == WorkerState.GpuUnsupported, Bound, "GPU_UNSUPPORTED");
        Assert.False(unsupported.Serving);
        Assert.Equal(FailureClass.GpuUnsupported, unsupported.Worker.LastFailure.Class);
        Assert.False(unsupported.Worker.LastFailure.Restarted);
        Assert.Contains("no kernel image is available for execution on the device", unsupported.Worker.LastFailure.Reason, StringComparison.Ordinal);
        Assert.Contains("restarting cannot help", unsupported.NotServingReason, StringComparison.Ordinal);

        // Even when the worker then dies, the agent leaves it down: the same image would fail the same way.
        await worker.ControlAsync("exit", "1");
        var died = await agent.WaitForAsync(s => s.Worker.ExitCode == 1, Bound, "the agent to see the worker exit");
        await Task.Delay(TimeSpan.FromSeconds(1), TestContext.Current.CancellationToken);
        var docker = await worker.StateAsync();
        Assert.False(docker.Running, "the agent restarted a worker whose image cannot run on the card");
        var status = await agent.StatusAsync();
        Assert.Equal(0u, status.Worker.RestartCount);
        Assert.Equal(WorkerState.GpuUnsupported, status.Worker.State);
        Assert.Equal(PythonGrpcHealth.NotServing, await PythonGrpcHealth.CheckAsync(agent.Target, "immich-ml"));
        Assert.DoesNotContain($": restarting {worker.Name}", agent.Logs, StringComparison.Ordinal);
        Assert.Equal(WorkerState.GpuUnsupported, died.Worker.State);
    }

    [Fact]
    public async Task A_crash_loop_is_held_back_with_a_doubling_back_off()
    {
        var engine = await DockerEngine.MachineAsync();
        // A real worker that exits with code 3 right after it starts, on a real engine; only the clock is fake.
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var worker = await MlStandInContainer.StartAsync(engine, new MlStandInOptions { OnStart = "exit:3" });
        await using var agent = await AgentUnderTest.StartAsync(worker, time: time);

        var looping = await agent.WaitForAsync(s => s.Worker.State == WorkerState.CrashLooping, Bound, "CRASH_LOOPING after 5 restarts");
        Assert.Equal(5u, looping.Worker.RestartCount);
        Assert.Equal(FailureClass.CrashLooping, looping.Worker.LastFailure.Class);
        Assert.Contains("exited with code 3", looping.Worker.LastFailure.Reason, StringComparison.Ordinal);
        Assert.Equal(TimeSpan.FromSeconds(5), looping.Worker.BackoffUntil.ToDateTimeOffset() - looping.Worker.LastFailure.At.ToDateTimeOffset());
        Assert.False(looping.Serving);

        // Held back: while the (fake) back-off runs, Docker sees no new start.
        var held = await worker.StateAsync();
        await Task.Delay(TimeSpan.FromSeconds(2), TestContext.Current.CancellationToken);
        Assert.Equal(held.StartedAt, (await worker.StateAsync()).StartedAt);
        Assert.Equal(5u, (await agent.StatusAsync()).Worker.RestartCount);

        // The back-off runs out: one more try; the worker dies again, and the next back-off is twice as long.
        time.Advance(TimeSpan.FromSeconds(5));
        var again = await agent.WaitForAsync(s => s.Worker.RestartCount == 6 && s.Worker.State == WorkerState.CrashLooping, Bound,
            "the try after the back-off and CRASH_LOOPING again");
        Assert.Equal(TimeSpan.FromSeconds(10), again.Worker.BackoffUntil.ToDateTimeOffset() - again.Worker.LastFailure.At.ToDateTimeOffset());
        Assert.True((await worker.StateAsync()).StartedAt > held.StartedAt, "Docker shows no start after the back-off");
    }

    [Fact]
    public async Task A_container_whose_name_only_starts_like_the_workers_is_never_acted_on()
    {
        var engine = await DockerEngine.MachineAsync();
        await using var worker = await MlStandInContainer.StartAsync(engine);
        await using var agent = await AgentUnderTest.StartAsync(worker);
        await agent.WaitForAsync(s => s.Serving, Bound, "SERVING before the other container");
        var before = await worker.StateAsync();

        // Docker's event filter `container=<name>` matches by prefix: this one's start and death reach the agent too.
        await using var other = await MlStandInContainer.StartAsync(engine, new MlStandInOptions { Name = worker.Name + "_old", OnStart = "exit:1" });
        await Waiting.UntilAsync(async () => (await other.StateAsync()).Running, running => !running, Bound, "the other container to die",
            cancellationToken: TestContext.Current.CancellationToken);
        await Task.Delay(TimeSpan.FromSeconds(2), TestContext.Current.CancellationToken);

        var status = await agent.StatusAsync();
        Assert.Equal(0u, status.Worker.RestartCount);
        Assert.True(status.Serving, status.NotServingReason);
        Assert.Equal(before.StartedAt, (await worker.StateAsync()).StartedAt);
        Assert.DoesNotContain($"restarting {worker.Name}", agent.Logs, StringComparison.Ordinal);
    }

    private static async Task<string> StandInStateAsync(MlStandInContainer worker)
    {
        using var http = new HttpClient();
        return await Waiting.UntilAsync(async () =>
        {
            try
            {
                return await http.GetStringAsync(new Uri(worker.BaseUri, "_standin/state"));
            }
            catch (HttpRequestException)
            {
                return "";
            }
        }, s => s.Length > 0, TimeSpan.FromSeconds(30), "the stand-in's state");
    }
}
