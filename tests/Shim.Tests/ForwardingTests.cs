using System.Net;
using System.Text.Json;
using GpuSplit.Planner.Service;
using GpuSplit.Shim.Tests.Infrastructure;

namespace GpuSplit.Shim.Tests;

/// <summary>Real Immich-shaped requests through the real shim (Kestrel + YARP) to a real HTTP stand-in.</summary>
public sealed class ForwardingTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task An_image_job_built_like_Immichs_arrives_byte_for_byte_and_its_answer_comes_back()
    {
        await using var box = await GpuBox.StartAsync();
        await using var shim = await ShimUnderTest.StartAsync([box.Endpoints]);
        await shim.WaitForStateAsync(0, "online");
        var jpeg = PreviewJpeg.Small();

        using var request = ImmichPredictRequest.Job(JobKind.SmartSearch, jpeg);
        var sentType = request.Content!.Headers.ContentType!.ToString();
        var sentLength = request.Content.Headers.ContentLength;
        using var response = await shim.Client.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        Assert.Equal(512, JsonSerializer.Deserialize<double[]>(answer.RootElement.GetProperty("clip").GetString()!)!.Length);
        Assert.Equal(1440, answer.RootElement.GetProperty("imageHeight").GetInt32());
        var call = Assert.Single(box.Ml.Calls);
        Assert.Equal(ImmichPredictRequest.SmartSearchEntries, call.Entries);
        Assert.Equal(Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(jpeg)), call.ImageSha256);
        Assert.Equal(jpeg.Length, call.ImageLength);
        Assert.Equal("blob", call.ImageFileName);
        Assert.Equal("application/octet-stream", call.ImageContentType);
        Assert.Equal(sentType, call.ContentType);
        Assert.Equal(sentLength, call.ContentLength);
        Assert.Equal(1, await shim.MetricAsync("""shim_decisions_total{kind="smart-search",decision="forward",reason="serving"}"""));
    }

    [Fact]
    public async Task A_search_query_with_text_is_forwarded_while_the_box_serves()
    {
        await using var box = await GpuBox.StartAsync();
        await using var shim = await ShimUnderTest.StartAsync([box.Endpoints]);
        await shim.WaitForStateAsync(0, "online");

        using var response = await shim.Client.SendAsync(ImmichPredictRequest.Search("a red bicycle by the sea"), Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var call = Assert.Single(box.Ml.Calls);
        Assert.Equal("a red bicycle by the sea", call.Text);
        Assert.Equal(ImmichPredictRequest.SearchEntries, call.Entries);
        Assert.Null(call.ImageSha256);
        Assert.Equal(1, await shim.MetricAsync("""shim_decisions_total{kind="search",decision="forward",reason="serving"}"""));
    }

    [Fact]
    public async Task Face_and_OCR_jobs_are_forwarded_and_counted_by_kind()
    {
        await using var box = await GpuBox.StartAsync();
        await using var shim = await ShimUnderTest.StartAsync([box.Endpoints]);
        await shim.WaitForStateAsync(0, "online");

        using var faces = await shim.Client.SendAsync(ImmichPredictRequest.Job(JobKind.FaceDetection, PreviewJpeg.Small(2)), Ct);
        using var ocr = await shim.Client.SendAsync(ImmichPredictRequest.Job(JobKind.Ocr, PreviewJpeg.Small(3)), Ct);
        using var banner = await shim.Client.GetAsync("/", Ct);

        Assert.Equal(HttpStatusCode.OK, faces.StatusCode);
        Assert.Contains("\"facial-recognition\"", await faces.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, ocr.StatusCode);
        Assert.Contains("IMMICH", await ocr.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal("""{"message":"Immich ML"}""", await banner.Content.ReadAsStringAsync(Ct));
        Assert.Equal(1, await shim.MetricAsync("""shim_decisions_total{kind="face-detection",decision="forward",reason="serving"}"""));
        Assert.Equal(1, await shim.MetricAsync("""shim_decisions_total{kind="ocr",decision="forward",reason="serving"}"""));
        Assert.Equal(1, await shim.MetricAsync("""shim_decisions_total{kind="info",decision="forward",reason="serving"}"""));
    }

    [Fact]
    public async Task A_box_that_refused_a_connection_is_passed_over_until_its_agent_says_serving_again_then_the_held_job_goes_through()
    {
        using var closed = new SilentPort();
        await using var agent = await TestAgent.StartAsync(Ct);
        agent.Serve();
        await using var shim = await ShimUnderTest.StartAsync([(closed.Address, agent.Address)]);
        await shim.WaitForStateAsync(0, "online");

        var job = shim.Client.SendAsync(ImmichPredictRequest.Job(JobKind.Ocr, PreviewJpeg.Small()), Ct);
        await shim.WaitForStateAsync(0, "ml-unreachable");
        closed.Release();
        await using var ml = await MlStandIn.StartAsync(Ct, closed.Port);
        // The ML service is back, but the agent has said nothing since the refusal: a search is not sent to it.
        using var search = await shim.Client.SendAsync(ImmichPredictRequest.Search("sunset"), Ct);
        Assert.False(job.IsCompleted, "the held job went to a box whose agent had not spoken since its refusal");
        agent.Serve();
        using var response = await job;

        Assert.Equal(HttpStatusCode.ServiceUnavailable, search.StatusCode);
        Assert.Contains("ml-unreachable", await search.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.DoesNotContain(ml.Calls, c => c.Text is not null);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Single(ml.Calls);
        Assert.Equal(0, (await shim.StatusAsync()).GetProperty("totals").GetProperty("lost").GetInt64());
    }
}
