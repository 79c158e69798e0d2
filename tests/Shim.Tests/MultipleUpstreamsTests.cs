using System.Net;
using GpuSplit.Planner.Service;
using GpuSplit.Shim.Tests.Infrastructure;

namespace GpuSplit.Shim.Tests;

/// <summary>Two GPU boxes: work goes to serving boxes, the least busy first, then the one with more free VRAM.</summary>
public sealed class MultipleUpstreamsTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Jobs_go_to_the_least_busy_serving_box_then_the_one_with_more_free_VRAM_and_never_to_an_asleep_one()
    {
        await using var small = await GpuBox.StartAsync(freeBytes: 1 * TestAgent.GiB);
        await using var roomy = await GpuBox.StartAsync(freeBytes: 5 * TestAgent.GiB);
        small.Ml.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        roomy.Ml.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var shim = await ShimUnderTest.StartAsync([small.Endpoints, roomy.Endpoints]);
        await shim.WaitForStatusAsync(
            s => s.GetProperty("upstreams").EnumerateArray().All(u => u.GetProperty("state").GetString() == "online"
                && u.GetProperty("gpus").GetArrayLength() == 1),
            "both boxes online with a VRAM report");

        // Equally idle: the box with more free VRAM takes the first job.
        var first = shim.Client.SendAsync(ImmichPredictRequest.Job(JobKind.SmartSearch, PreviewJpeg.Small(1)), Ct);
        await Eventually(() => roomy.Ml.Calls.Count == 1, "the first job at the roomy box");
        // The roomy box is now busier: the second job goes to the idle one despite its smaller VRAM.
        var second = shim.Client.SendAsync(ImmichPredictRequest.Job(JobKind.FaceDetection, PreviewJpeg.Small(2)), Ct);
        await Eventually(() => small.Ml.Calls.Count == 1, "the second job at the idle box");
        small.Ml.Gate.SetResult();
        roomy.Ml.Gate.SetResult();
        Assert.Equal(HttpStatusCode.OK, (await first).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await second).StatusCode);

        // The roomy box falls asleep (its agent and its ML service stop answering): everything goes to the small one,
        // nothing waits.
        roomy.Ml.DropPings = true;
        await roomy.Agent.DisposeAsync();
        await shim.WaitForStateAsync(1, "asleep");
        for (var i = 0; i < 3; i++)
        {
            using var response = await shim.Client.SendAsync(ImmichPredictRequest.Job(JobKind.Ocr, PreviewJpeg.Small(10 + i)), Ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        Assert.Equal(4, small.Ml.Calls.Count);
        Assert.Single(roomy.Ml.Calls);
        var status = await shim.StatusAsync();
        Assert.Equal("GPU host: online · ML jobs flowing", status.GetProperty("badge").GetString());
        Assert.Equal(1, await shim.MetricAsync("""shim_forwarded_total{upstream="gpu-box-1",outcome="2xx"}"""));
        Assert.Equal(4, await shim.MetricAsync("""shim_forwarded_total{upstream="gpu-box-0",outcome="2xx"}"""));
    }

    private static async Task Eventually(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"waited 30 s for {what}");
            await Task.Delay(10, Ct);
        }
    }
}
