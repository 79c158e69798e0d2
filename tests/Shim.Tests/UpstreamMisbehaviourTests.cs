using System.Net;
using GpuSplit.Planner.Service;
using GpuSplit.Shim.Tests.Infrastructure;

namespace GpuSplit.Shim.Tests;

/// <summary>
/// An ML service that fails in each way a socket can, through the real shim: the shim never answers 2xx for work
/// the box did not do, sends a job again only when the box did not do it, and passes on what the box did say.
/// </summary>
public sealed class UpstreamMisbehaviourTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Short, so that a hang ends within the test; the default is nginx's 300 s.</summary>
    private static readonly (string, string)[] ShortTimeout = [("ResponseTimeout", "00:00:01")];

    [Theory]
    [InlineData(Misbehaviour.CloseBeforeHead, "connection-failed")]
    [InlineData(Misbehaviour.ResetBeforeHead, "connection-failed")]
    [InlineData(Misbehaviour.CloseAfterHead, "connection-failed")]
    [InlineData(Misbehaviour.CudaOutOfMemory500, "out-of-memory")]
    [InlineData(Misbehaviour.HangBeforeHead, "timed-out")]
    // YARP blames the sender when its response timeout ends a silent body copy.
    [InlineData(Misbehaviour.HangAfterHead, "connection-failed")]
    [InlineData(Misbehaviour.Empty200, "empty-answer")]
    [InlineData(Misbehaviour.EmptyChunked200, "empty-answer")]
    public async Task A_job_the_box_did_not_do_is_held_and_sent_again_and_its_answer_is_the_second_attempts(Misbehaviour fault, string reason)
    {
        await using var rig = await Rig.StartAsync(fault);
        var (ml, agent, shim) = (rig.Ml, rig.Agent, rig.Shim);

        var job = shim.Client.SendAsync(ImmichPredictRequest.Job(JobKind.SmartSearch, PreviewJpeg.Small()), Ct);
        await shim.WaitForHeldAsync(1);
        Assert.Equal(1, ml.Calls);
        Assert.False(job.IsCompleted, $"answered after {fault} while the box's agent had not spoken since");
        agent.Serve();
        using var response = await job;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(MisbehavingMl.GoodAnswer, await response.Content.ReadAsStringAsync(Ct));
        Assert.Equal(2, ml.Calls);
        Assert.Equal(1, await shim.MetricAsync($$"""shim_replays_total{kind="smart-search",reason="{{reason}}"}"""));
        Assert.Equal(0, (await shim.StatusAsync()).GetProperty("totals").GetProperty("lost").GetInt64());
    }

    [Theory]
    [InlineData(Misbehaviour.Truncated200)]
    [InlineData(Misbehaviour.CutChunked200)]
    public async Task An_answer_cut_after_it_started_is_a_cut_connection_to_Immich_never_a_whole_200_and_is_not_sent_again(Misbehaviour fault)
    {
        // Bounds the test if the job were wrongly held to be sent again.
        await using var rig = await Rig.StartAsync(fault, ("HoldLimit", "00:00:10"));
        var (ml, shim) = (rig.Ml, rig.Shim);

        var error = await Record.ExceptionAsync(async () =>
        {
            using var response = await shim.Client.SendAsync(
                ImmichPredictRequest.Job(JobKind.FaceDetection, PreviewJpeg.Small()), HttpCompletionOption.ResponseContentRead, Ct);
        });

        Assert.True(error is HttpRequestException or IOException, $"expected a cut connection, got {error?.ToString() ?? "a whole answer"}");
        Assert.Equal(1, ml.Calls);
        Assert.DoesNotContain("shim_replays_total{", await shim.MetricsAsync(), StringComparison.Ordinal);
        await shim.WaitForStatusAsync(s => s.GetProperty("totals").GetProperty("lost").GetInt64() == 1, "the cut job counted lost");
    }

    [Fact]
    public async Task A_plain_500_is_the_box_s_word_about_the_job_and_goes_to_Immich_as_it_is()
    {
        await using var rig = await Rig.StartAsync(Misbehaviour.Plain500);
        var (ml, shim) = (rig.Ml, rig.Shim);

        using var response = await shim.Client.SendAsync(ImmichPredictRequest.Job(JobKind.Ocr, PreviewJpeg.Small()), Ct);

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("Internal Server Error", await response.Content.ReadAsStringAsync(Ct));
        Assert.Equal(1, ml.Calls);
        Assert.DoesNotContain("shim_replays_total{", await shim.MetricsAsync(), StringComparison.Ordinal);
        Assert.Equal("online", (await shim.StatusAsync()).GetProperty("upstreams")[0].GetProperty("state").GetString());
    }

    [Theory]
    [InlineData(Misbehaviour.Empty200)]
    [InlineData(Misbehaviour.HangBeforeHead)]
    [InlineData(Misbehaviour.ResetBeforeHead)]
    public async Task A_search_the_box_did_not_do_gets_a_503_at_once_never_a_200(Misbehaviour fault)
    {
        await using var rig = await Rig.StartAsync(fault);
        var (ml, shim) = (rig.Ml, rig.Shim);

        using var response = await shim.Client.SendAsync(ImmichPredictRequest.Search("a dog on the beach"), Ct);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("gpu-host-unavailable", await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal(1, ml.Calls);
    }

    /// <summary>The misbehaving ML service, a serving agent for it, and a shim with a short response timeout, online.</summary>
    private sealed class Rig(MisbehavingMl ml, TestAgent agent, ShimUnderTest shim) : IAsyncDisposable
    {
        public MisbehavingMl Ml => ml;

        public TestAgent Agent => agent;

        public ShimUnderTest Shim => shim;

        public static async Task<Rig> StartAsync(Misbehaviour fault, params (string, string)[] settings)
        {
            var ml = MisbehavingMl.Start(fault);
            var agent = await TestAgent.StartAsync(Ct);
            agent.Serve();
            var shim = await ShimUnderTest.StartAsync([(ml.Address, agent.Address)], [.. ShortTimeout, .. settings]);
            await shim.WaitForStateAsync(0, "online");
            return new Rig(ml, agent, shim);
        }

        public async ValueTask DisposeAsync()
        {
            await shim.DisposeAsync();
            await agent.DisposeAsync();
            await ml.DisposeAsync();
        }
    }
}
