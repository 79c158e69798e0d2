using System.Diagnostics;
using System.Net;
using GpuSplit.Planner.Service;
using GpuSplit.Shim.Tests.Infrastructure;

namespace GpuSplit.Shim.Tests;

/// <summary>
/// The agent is not a single point of failure: while it does not answer and the box's ML service does, work goes to the
/// ML service as it would without the shim; only when neither answers is the box away.
/// </summary>
public sealed class AgentAwayTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task With_the_agent_gone_jobs_flow_to_the_ml_service_then_wait_once_it_stops_too_and_the_agent_takes_over_when_both_are_back()
    {
        var ml = await MlStandIn.StartAsync(Ct);
        var agent = await TestAgent.StartAsync(Ct);
        var (mlPort, agentPort) = (ml.Address.Port, agent.Address.Port);
        try
        {
            agent.Serve();
            await using var shim = await ShimUnderTest.StartAsync([(ml.Address, agent.Address)]);
            await shim.WaitForStateAsync(0, "online");

            // The agent crashes; its ML service goes on serving: jobs and searches are forwarded, none is held.
            await agent.DisposeAsync();
            var away = await shim.WaitForStatusAsync(s => s.GetProperty("upstreams")[0].GetProperty("state").GetString() == "agent-unreachable", "the agent away, the ML answering");
            using (var face = await shim.Client.SendAsync(ImmichPredictRequest.Job(JobKind.FaceDetection, PreviewJpeg.Small()), Ct))
            using (var search = await shim.Client.SendAsync(ImmichPredictRequest.Search("birthday cake"), Ct))
            {
                Assert.Equal(HttpStatusCode.OK, face.StatusCode);
                Assert.Equal(HttpStatusCode.OK, search.StatusCode);
            }

            Assert.StartsWith("agent unreachable, ML answering: forwarding without the GPU's view (agent: ", away.GetProperty("upstreams")[0].GetProperty("reason").GetString(), StringComparison.Ordinal);
            Assert.Equal("serving", away.GetProperty("upstreams")[0].GetProperty("condition").GetString());
            Assert.Equal("GPU host: agent unreachable, ML answering · ML jobs forwarded without the GPU's view", away.GetProperty("badge").GetString());
            Assert.Equal(1, await shim.MetricAsync("""shim_upstream_state{upstream="gpu-box-0",state="agent-unreachable"}"""));
            Assert.Equal(1, await shim.MetricAsync("""shim_upstream_serving{upstream="gpu-box-0"}"""));
            Assert.Equal(2, ml.Calls.Count);
            var flowing = await shim.StatusAsync();
            Assert.Equal(0, flowing.GetProperty("totals").GetProperty("held").GetInt64());
            Assert.Equal(0, flowing.GetProperty("totals").GetProperty("lost").GetInt64());
            // The power loop counts the box awake and serving, with no agent to ask to sleep.
            await shim.WaitForStatusAsync(
                s => s.GetProperty("power").GetProperty("boxes")[0].GetProperty("sleep").GetString() == "its agent does not answer (its ML service does): no one to ask to sleep",
                "the power loop's word for a box whose agent is away");

            // The ML service stops too: the box is away, and a job waits for it.
            await ml.DisposeAsync();
            var asleep = await shim.WaitForStatusAsync(s => s.GetProperty("upstreams")[0].GetProperty("state").GetString() == "asleep", "the box away");
            Assert.Contains("nor does its ML service", asleep.GetProperty("upstreams")[0].GetProperty("reason").GetString(), StringComparison.Ordinal);
            var job = shim.Client.SendAsync(ImmichPredictRequest.Job(JobKind.Ocr, PreviewJpeg.Small()), Ct);
            await shim.WaitForHeldAsync(1);

            // Both come back where they were (the ML service first: an agent that says serving sends work there at once).
            // The held job goes through, and the agent speaks for the box again.
            ml = await MlStandIn.StartAsync(Ct, mlPort);
            agent = await TestAgent.StartAsync(Ct, agentPort);
            agent.Serve();
            using (var released = await job)
            {
                Assert.Equal(HttpStatusCode.OK, released.StatusCode);
            }

            var back = await shim.WaitForStatusAsync(s => s.GetProperty("upstreams")[0].GetProperty("state").GetString() == "online", "the agent back");
            Assert.Equal("GPU host: online · ML jobs flowing", back.GetProperty("badge").GetString());
            Assert.Single(ml.Calls);
            Assert.Equal(0, back.GetProperty("totals").GetProperty("lost").GetInt64());
        }
        finally
        {
            await agent.DisposeAsync();
            await ml.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_job_in_flight_when_the_agent_goes_silent_is_taken_back_and_sent_again_to_the_ml_service_that_answers()
    {
        var (box, _) = await GpuBox.StartWithHeartbeatAsync(200);
        await using var owned = box;
        await using var shim = await ShimUnderTest.StartAsync([box.Endpoints]);
        await shim.WaitForStateAsync(0, "online");
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        box.Ml.Gate = gate;
        var job = shim.Client.SendAsync(ImmichPredictRequest.Job(JobKind.SmartSearch, PreviewJpeg.Small()), Ct);
        await shim.WaitForStatusAsync(_ => box.Ml.Calls.Count == 1, "the box to take the job");

        // The agent misses its heartbeats: the box may have lost power, and a dead link sends no reset, so the job in
        // flight is taken back at once. Its ML service answers the shim's ping: the job goes to it again.
        box.Agent.Service.Silent = true;
        await shim.WaitForStatusAsync(s => s.GetProperty("totals").GetProperty("replayed").GetInt64() == 1, "the job taken back");
        box.Ml.Gate = null;
        gate.SetResult();
        using var response = await job;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, box.Ml.Calls.Count);
        Assert.Equal(1, await shim.MetricAsync("""shim_replays_total{kind="smart-search",reason="box-gone"}"""));
        Assert.Equal("agent-unreachable", (await shim.StatusAsync()).GetProperty("upstreams")[0].GetProperty("state").GetString());
    }

    [Fact]
    public async Task A_shim_whose_agent_never_answers_forwards_a_job_to_the_ml_service_that_does()
    {
        // Measured, not asserted: the time from the shim's start to a job's answer with no agent at all.
        using var agentPort = new SilentPort();
        await using var ml = await MlStandIn.StartAsync(Ct);
        var clock = Stopwatch.StartNew();
        await using var shim = await ShimUnderTest.StartAsync([(ml.Address, agentPort.Address)]);
        using var response = await shim.Client.SendAsync(ImmichPredictRequest.Job(JobKind.FaceDetection, PreviewJpeg.Small()), Ct);
        var elapsed = clock.Elapsed;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Single(ml.Calls);
        Assert.Equal("agent-unreachable", (await shim.StatusAsync()).GetProperty("upstreams")[0].GetProperty("state").GetString());
        TestContext.Current.TestOutputHelper?.WriteLine($"no agent, ML answering: shim start to 200 in {elapsed.TotalMilliseconds:0} ms");
    }
}
