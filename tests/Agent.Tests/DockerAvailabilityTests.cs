using GpuSplit.Protos.V1;
using GpuSplit.Testing.Docker;
using GpuSplit.Testing.Grpc;
using GpuSplit.Testing.MlStandIn;
using GpuSplit.Testing.Network;
using Grpc.Core;

namespace GpuSplit.Agent.Tests;

/// <summary>What the agent does when the container or the Docker engine is not there.</summary>
public sealed class DockerAvailabilityTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_container_that_does_not_exist_is_reported_missing_and_picked_up_when_it_appears()
    {
        var engine = await DockerEngine.MachineAsync();
        var name = TestContainers.UniqueName("absent");
        var port = FreePort.Next();
        await using var agent = await AgentUnderTest.StartAsync(name, new Uri($"http://127.0.0.1:{port}"),
            new Dictionary<string, string> { ["Agent:Token"] = "t0ken" });

        var missing = await agent.WaitForAsync(s => s.Worker.State == WorkerState.Missing, Bound, "MISSING");
        Assert.False(missing.Serving);
        Assert.Equal($"no container named {name}", missing.NotServingReason);
        Assert.Equal(PythonGrpcHealth.NotServing, await PythonGrpcHealth.CheckAsync(agent.Target));
        var headers = new Metadata { { "authorization", "Bearer t0ken" } };
        var refused = await agent.Client.RestartWorkerAsync(new RestartWorkerRequest { Reason = "test" }, headers,
            cancellationToken: TestContext.Current.CancellationToken);
        Assert.False(refused.Restarted);
        Assert.Contains(name, refused.Message, StringComparison.Ordinal);

        // It appears (created, not started: the agent does not start what someone only created) and then starts.
        await using var worker = await MlStandInContainer.StartAsync(engine, new MlStandInOptions { Name = name, Port = port, Start = false });
        await agent.WaitForAsync(s => s.Worker.State == WorkerState.Stopped && s.Worker.ContainerId == worker.Id, Bound, "STOPPED once created");
        await engine.CheckedAsync("start", name);
        var serving = await agent.WaitForAsync(s => s.Serving, Bound, "SERVING once started");
        Assert.Equal(0u, serving.Worker.RestartCount);
    }

    [Fact]
    public async Task The_Docker_engine_going_away_and_coming_back()
    {
        // A private engine of this test's own: stopping the machine's engine would pull it from under other developers.
        await using var daemon = await PrivateDockerDaemon.StartNewAsync();
        await using var worker = await MlStandInContainer.StartAsync(daemon.Engine);
        await using var agent = await AgentUnderTest.StartAsync(worker,
            new Dictionary<string, string> { ["Agent:Docker:Endpoint"] = daemon.Engine.Host });
        await agent.WaitForAsync(s => s.Serving, Bound, "SERVING on the private engine");

        await daemon.StopAsync();
        var gone = await agent.WaitForAsync(s => s.Worker.State == WorkerState.DockerUnavailable, Bound, "DOCKER_UNAVAILABLE");
        Assert.False(gone.Serving);
        Assert.Contains(daemon.SocketPath, gone.NotServingReason, StringComparison.Ordinal);
        Assert.Equal(PythonGrpcHealth.NotServing, await PythonGrpcHealth.CheckAsync(agent.Target, "immich-ml"));

        // The engine comes back with the worker stopped (its shutdown stopped it); the agent reconnects and starts it.
        await daemon.StartAsync();
        var back = await agent.WaitForAsync(s => s.Serving, Bound, "SERVING after the engine came back");
        Assert.Equal(WorkerState.Running, back.Worker.State);
        Assert.Equal(1u, back.Worker.RestartCount);
        Assert.Equal(FailureClass.Exited, back.Worker.LastFailure.Class);
        Assert.True((await worker.StateAsync()).Running);
        Assert.Equal(PythonGrpcHealth.Serving, await PythonGrpcHealth.CheckAsync(agent.Target, "immich-ml"));
    }
}
