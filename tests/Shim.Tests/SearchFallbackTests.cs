using System.Net;
using GpuSplit.Planner.Service;
using GpuSplit.Shim.Tests.Infrastructure;

namespace GpuSplit.Shim.Tests;

/// <summary>
/// The optional search fallback (a CPU ML service on the always-on box): search queries go there while no GPU box
/// serves; image work never does.
/// </summary>
public sealed class SearchFallbackTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task While_the_box_sleeps_searches_go_to_the_fallback_and_image_work_is_held()
    {
        await using var asleep = new AsleepBox();
        await using var cpu = await MlStandIn.StartAsync(Ct);
        await using var shim = await ShimUnderTest.StartAsync([asleep.Endpoints], [("SearchFallback:Url", cpu.Address.ToString())]);
        await shim.WaitForStateAsync(0, "asleep");

        using (var search = await shim.Client.SendAsync(ImmichPredictRequest.Search("a dog on a beach"), Ct))
        {
            Assert.Equal(HttpStatusCode.OK, search.StatusCode);
        }

        var job = shim.Client.SendAsync(ImmichPredictRequest.Job(JobKind.SmartSearch, PreviewJpeg.Small()), Ct);
        await shim.WaitForHeldAsync(1);
        var face = shim.Client.SendAsync(ImmichPredictRequest.Job(JobKind.FaceDetection, PreviewJpeg.Small()), Ct);
        await shim.WaitForHeldAsync(2);

        var call = Assert.Single(cpu.Calls);
        Assert.Equal(ImmichPredictRequest.SearchEntries, call.Entries);
        Assert.Equal("a dog on a beach", call.Text);
        Assert.Equal(1, await shim.MetricAsync("""shim_decisions_total{kind="search",decision="forward",reason="search-fallback"}"""));

        // The box wakes: the held image work goes to it, and so do searches again.
        var gpu = (await asleep.WakeAsync()).Ml;
        using (var released = await job)
        using (var releasedFace = await face)
        using (var search = await shim.Client.SendAsync(ImmichPredictRequest.Search("a cat"), Ct))
        {
            Assert.Equal(HttpStatusCode.OK, released.StatusCode);
            Assert.Equal(HttpStatusCode.OK, releasedFace.StatusCode);
            Assert.Equal(HttpStatusCode.OK, search.StatusCode);
        }

        Assert.Single(cpu.Calls);
        Assert.Equal(3, gpu.Calls.Count);
    }

    [Fact]
    public async Task A_fallback_that_is_down_leaves_the_search_with_its_quick_503()
    {
        await using var asleep = new AsleepBox();
        using var fallbackPort = new SilentPort();
        await using var shim = await ShimUnderTest.StartAsync([asleep.Endpoints], [("SearchFallback:Url", fallbackPort.Address.ToString())]);
        await shim.WaitForStateAsync(0, "asleep");

        using var search = await shim.Client.SendAsync(ImmichPredictRequest.Search("a dog"), Ct);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, search.StatusCode);
        Assert.Contains("gpu-host-unavailable", await search.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        var events = (await shim.StatusAsync()).GetProperty("events").EnumerateArray().Select(e => e.GetProperty("text").GetString());
        Assert.Contains(events, e => e!.StartsWith($"The search fallback at {fallbackPort.Address.Authority} took no connection", StringComparison.Ordinal));
    }

    [Fact]
    public void A_fallback_that_is_not_an_http_url_is_refused_at_start_up()
    {
        var error = Assert.Throws<ShimConfigurationException>(() => ShimApplication.Build(
            ["--urls=http://127.0.0.1:0", "--Shim:Upstreams:0:Url=http://gpu-box:3003", "--Shim:Upstreams:0:Agent=http://gpu-box:3004", "--Shim:SearchFallback:Url=immich-ml-cpu:3003"]));

        Assert.Equal("Shim:SearchFallback:Url 'immich-ml-cpu:3003' is not an http:// or https:// URL: a CPU Immich ML service for search queries, e.g. http://immich-machine-learning-cpu:3003", error.Message);
    }
}
