using System.Threading.Channels;
using GpuSplit.Protos.V1;
using GpuSplit.Testing.Docker;
using GpuSplit.Testing.Grpc;
using GpuSplit.Testing.MlStandIn;
using Grpc.Core;
using Grpc.Health.V1;
using static Grpc.Health.V1.HealthCheckResponse.Types;

namespace GpuSplit.Agent.Tests;

/// <summary>Health as clients see it: grpc.health.v1 from .NET and from Python, gpusplit.v1 WatchStatus, and the token.</summary>
public sealed class HealthTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Health_transitions_reach_Watch_streams_and_an_independent_client()
    {
        var engine = await DockerEngine.MachineAsync();
        await using var worker = await MlStandInContainer.StartAsync(engine);
        await using var agent = await AgentUnderTest.StartAsync(worker);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var health = Collect(agent.Health.Watch(new HealthCheckRequest { Service = "immich-ml" }, cancellationToken: stop.Token).ResponseStream,
            r => r.Status, stop.Token);
        var statuses = Collect(agent.Client.WatchStatus(new WatchStatusRequest(), cancellationToken: stop.Token).ResponseStream,
            s => s, stop.Token);

        await NextAsync(health, s => s == ServingStatus.Serving, "Watch: SERVING");
        Assert.Equal(PythonGrpcHealth.Serving, await PythonGrpcHealth.CheckAsync(agent.Target));
        Assert.Equal(PythonGrpcHealth.Serving, await PythonGrpcHealth.CheckAsync(agent.Target, "immich-ml"));

        // The container keeps running but stops answering /ping.
        await worker.ControlAsync("ping-fail");
        await NextAsync(health, s => s == ServingStatus.NotServing, "Watch: NOT_SERVING");
        // Wait for the status that names the cause: on a loaded machine a slow Docker answer can be reported first.
        var notServing = await NextAsync(statuses, s => !s.Serving && s.Worker.State != WorkerState.DockerUnavailable, "WatchStatus: not serving");
        Assert.Equal(WorkerState.Starting, notServing.Worker.State);
        Assert.Contains("/ping does not answer", notServing.NotServingReason, StringComparison.Ordinal);
        Assert.Equal(PythonGrpcHealth.NotServing, await PythonGrpcHealth.CheckAsync(agent.Target));

        await worker.ControlAsync("ping-ok");
        await NextAsync(health, s => s == ServingStatus.Serving, "Watch: SERVING again");
        var serving = await NextAsync(statuses, s => s.Serving, "WatchStatus: serving again");
        Assert.Equal("", serving.NotServingReason);
        Assert.Equal(PythonGrpcHealth.Serving, await PythonGrpcHealth.CheckAsync(agent.Target));
        Assert.Equal("error NOT_FOUND", await PythonGrpcHealth.CheckAsync(agent.Target, "no-such-service"));
        await stop.CancelAsync();
    }

    [Fact]
    public async Task RestartWorker_is_refused_without_the_token_and_done_with_it()
    {
        var engine = await DockerEngine.MachineAsync();
        await using var worker = await MlStandInContainer.StartAsync(engine);
        var started = (await worker.StateAsync()).StartedAt;
        var request = new RestartWorkerRequest { Reason = "operator test" };
        var token = TestContext.Current.CancellationToken;

        await using (var open = await AgentUnderTest.StartAsync(worker))
        {
            await open.WaitForAsync(s => s.Serving, Bound, "SERVING");
            var refused = await Assert.ThrowsAsync<RpcException>(async () =>
                await open.Client.RestartWorkerAsync(request, new Metadata { { "authorization", "Bearer anything" } }, cancellationToken: token));
            Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
            Assert.Contains("no token is configured", refused.Status.Detail, StringComparison.Ordinal);
        }

        await using var guarded = await AgentUnderTest.StartAsync(worker, new Dictionary<string, string> { ["Agent:Token"] = "s3cret" });
        await guarded.WaitForAsync(s => s.Serving, Bound, "SERVING");
        var anonymous = await Assert.ThrowsAsync<RpcException>(async () => await guarded.Client.RestartWorkerAsync(request, cancellationToken: token));
        Assert.Equal(StatusCode.Unauthenticated, anonymous.StatusCode);
        var wrong = await Assert.ThrowsAsync<RpcException>(async () =>
            await guarded.Client.RestartWorkerAsync(request, new Metadata { { "authorization", "Bearer s3cre" } }, cancellationToken: token));
        Assert.Equal(StatusCode.Unauthenticated, wrong.StatusCode);
        Assert.Equal(started, (await worker.StateAsync()).StartedAt);

        var reply = await guarded.Client.RestartWorkerAsync(request, new Metadata { { "authorization", "Bearer s3cret" } }, cancellationToken: token);
        Assert.True(reply.Restarted, reply.Message);
        Assert.True((await worker.StateAsync()).StartedAt > started, "Docker shows no new start");
        var after = await guarded.WaitForAsync(s => s.Serving, Bound, "SERVING after the operator's restart");
        Assert.Equal(FailureClass.Operator, after.Worker.LastFailure.Class);
        Assert.Contains("operator test", after.Worker.LastFailure.Reason, StringComparison.Ordinal);
        Assert.Equal(1u, after.Worker.RestartCount);
    }

    [Fact]
    public async Task WatchStatus_sends_an_unchanged_picture_again_every_heartbeat()
    {
        var engine = await DockerEngine.MachineAsync();
        await using var worker = await MlStandInContainer.StartAsync(engine);
        await using var agent = await AgentUnderTest.StartAsync(worker, new Dictionary<string, string> { ["Agent:StatusHeartbeat"] = "00:00:00.100" });
        await agent.WaitForAsync(s => s.Serving, Bound, "SERVING");
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        var statuses = Collect(agent.Client.WatchStatus(new WatchStatusRequest(), cancellationToken: stop.Token).ResponseStream, s => s, stop.Token);

        // Nothing changes on a serving box (no GPU here): what keeps coming is the heartbeat, the same message each time.
        var first = await NextAsync(statuses, s => s.Serving, "WatchStatus: serving");
        var repeats = 0;
        await NextAsync(statuses, s => s.Equals(first) && ++repeats == 5, "WatchStatus: the same picture five more times");

        Assert.Equal(100u, first.HeartbeatMs);
        await stop.CancelAsync();
    }

    private static ChannelReader<TOut> Collect<TIn, TOut>(IAsyncStreamReader<TIn> stream, Func<TIn, TOut> select, CancellationToken cancellationToken)
    {
        var channel = Channel.CreateUnbounded<TOut>();
        _ = Task.Run(async () =>
        {
            try
            {
                while (await stream.MoveNext(cancellationToken))
                {
                    await channel.Writer.WriteAsync(select(stream.Current), cancellationToken);
                }

                channel.Writer.TryComplete();
            }
            catch (Exception error)
            {
                channel.Writer.TryComplete(error);
            }
        }, CancellationToken.None);
        return channel.Reader;
    }

    private static async Task<T> NextAsync<T>(ChannelReader<T> reader, Func<T, bool> condition, string what)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        deadline.CancelAfter(Bound);
        try
        {
            while (true)
            {
                var item = await reader.ReadAsync(deadline.Token);
                if (condition(item))
                {
                    return item;
                }
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"no message within {Bound.TotalSeconds} s: {what}");
        }
    }
}
