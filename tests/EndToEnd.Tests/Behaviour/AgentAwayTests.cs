using System.Diagnostics;
using System.Net;
using System.Text.Json;
using GpuSplit.Planner.Service;
using GpuSplit.Testing.Immich;
using GpuSplit.Testing.Processes;
using GpuSplit.Testing.Split;

namespace GpuSplit.EndToEnd.Tests.Behaviour;

/// <summary>
/// The agent is not a single point of failure, every part real (<see cref="SplitRig"/>): the real agent process stopped
/// while the ML container on the box serves, then the container killed too, then the agent back.
/// </summary>
public sealed class AgentAwayTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);
    private static readonly HttpClient Http = new(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(60) };

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task With_the_agent_stopped_jobs_flow_to_the_ml_container_then_wait_once_it_dies_too_and_go_through_when_the_agent_is_back()
    {
        await using var rig = await SplitRig.StartAsync(new SplitRigOptions
        {
            ShimArguments =
            [
                "--Shim:AgentWatch:ConnectTimeout=00:00:01",
                "--Shim:AgentWatch:KeepAliveTimeout=00:00:01",
                "--Shim:AgentWatch:ReconnectDelay=00:00:00.100",
                "--Shim:AgentWatch:ReconnectMaxDelay=00:00:00.500",
            ],
        }, Ct);

        // A first job while all is well, so that the figures below are not the first request's start-up costs.
        var clock = Stopwatch.StartNew();
        using (var warm = await SendJobAsync(rig))
        {
            Assert.Equal(HttpStatusCode.OK, warm.StatusCode);
        }

        TestContext.Current.TestOutputHelper?.WriteLine($"all well: a job answered 200 in {clock.Elapsed.TotalMilliseconds:0} ms");

        // The agent process stops; the ML container goes on serving. A job sent at once is answered (measured, not
        // asserted: it may wait the moment the shim takes to ask the ML service); once the shim knows, none is held.
        await rig.StopAgentAsync();
        clock.Restart();
        using (var job = await SendJobAsync(rig))
        {
            Assert.Equal(HttpStatusCode.OK, job.StatusCode);
        }

        TestContext.Current.TestOutputHelper?.WriteLine($"agent stopped, ML container serving: a job sent at once answered 200 in {clock.Elapsed.TotalMilliseconds:0} ms");
        var away = await StatusUntilAsync(rig, s => State(s) == "agent-unreachable", "the agent away, the ML container answering");
        Assert.StartsWith("agent unreachable, ML answering: forwarding without the GPU's view", Upstream(away).GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Equal("flowing", away.GetProperty("jobs").GetProperty("state").GetString());
        var heldBefore = away.GetProperty("totals").GetProperty("held").GetInt64();
        clock.Restart();
        using (var job = await SendJobAsync(rig))
        {
            Assert.Equal(HttpStatusCode.OK, job.StatusCode);
        }

        TestContext.Current.TestOutputHelper?.WriteLine($"agent unreachable, ML answering: a job answered 200 in {clock.Elapsed.TotalMilliseconds:0} ms");

        var flowing = await rig.ShimStatusAsync(Ct);
        Assert.Equal(heldBefore, flowing.GetProperty("totals").GetProperty("held").GetInt64());
        Assert.Equal(0, flowing.GetProperty("totals").GetProperty("lost").GetInt64());

        // The ML container is killed too: the box is away, and a job waits for it.
        await rig.Ml.Engine.CheckedAsync("kill", rig.Ml.Name);
        await StatusUntilAsync(rig, s => State(s) == "asleep", "the box away");
        var held = SendJobAsync(rig);
        await StatusUntilAsync(rig, s => s.GetProperty("hold").GetProperty("held").GetInt32() == 1, "the job held");

        // The agent comes back and starts the stopped container itself: the held job goes through, the agent speaks again.
        rig.StartAgent();
        using (var released = await held)
        {
            Assert.Equal(HttpStatusCode.OK, released.StatusCode);
        }

        var back = await StatusUntilAsync(rig, s => State(s) == "online", "the agent back");
        Assert.Equal(0, back.GetProperty("totals").GetProperty("lost").GetInt64());
    }

    private static Task<HttpResponseMessage> SendJobAsync(SplitRig rig) =>
        Http.PostAsync(new Uri(rig.ShimUri, "predict"), ImmichPredictRequest.ForJob(JobKind.FaceDetection, PreviewJpeg.Default), Ct);

    private static JsonElement Upstream(JsonElement status) => status.GetProperty("upstreams")[0];

    private static string? State(JsonElement status) => Upstream(status).GetProperty("state").GetString();

    private static async Task<JsonElement> StatusUntilAsync(SplitRig rig, Func<JsonElement, bool> condition, string what)
    {
        try
        {
            return await Waiting.UntilAsync(() => rig.ShimStatusAsync(Ct), condition, Bound, what, TimeSpan.FromMilliseconds(100), Ct);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}\n{rig.Describe()}", e);
        }
    }
}
