using System.Net;
using System.Text.Json;
using GpuSplit.Planner.Service;
using GpuSplit.Protos.V1;
using GpuSplit.Shim.Forwarding;
using GpuSplit.Shim.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace GpuSplit.Shim.Tests;

/// <summary>
/// A box that fails before answering loses no job: the job's body was spooled while it streamed, so it is held
/// and sent again once the box's agent says serving. What cannot be sent again (a search, an answer already
/// streaming) gets an honest error.
/// </summary>
public sealed class ReplayTests
{
    private const string CudaOutOfMemory = "[E:onnxruntime:Default, cuda_call.cc:118 CudaCall] CUDA failure 2: out of memory ; GPU=0 ; "
        + "hostname=gpubox ; file=/onnxruntime_src/onnxruntime/core/providers/cuda/cuda_allocator.cc ; line=47 ; expr=cudaMalloc((void**)&p, size);";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <param name="memoryBytes">Shim:SpoolMemoryBytes: the default (the body in memory), 0 (in a file), one chunk (both).</param>
    [Theory]
    [InlineData(null)]
    [InlineData(0)]
    [InlineData(SpoolMemory.ChunkBytes)]
    public async Task A_job_whose_box_drops_the_connection_before_answering_is_held_and_sent_again_byte_for_byte_when_the_agent_says_serving(int? memoryBytes)
    {
        await using var box = await GpuBox.StartAsync();
        box.Ml.DieBeforeResponse = true;
        await using var shim = await ShimUnderTest.StartAsync([box.Endpoints],
            memoryBytes is { } bytes ? [("SpoolMemoryBytes", bytes.ToString(System.Globalization.CultureInfo.InvariantCulture))] : []);
        await shim.WaitForStateAsync(0, "online");
        var jpeg = PreviewJpeg.Small();
        using var request = ImmichPredictRequest.Job(JobKind.FaceDetection, jpeg);
        var sentLength = request.Content!.Headers.ContentLength;

        var job = shim.Client.SendAsync(request, Ct);
        await shim.WaitForHeldAsync(1);
        box.Ml.DieBeforeResponse = false;
        var held = await shim.WaitForStatusAsync(s => s.GetProperty("upstreams")[0].GetProperty("state").GetString() == "ml-unreachable", "the box passed over");
        Assert.Single(box.Ml.Calls);
        Assert.False(job.IsCompleted, "answered while its box had failed and its agent had not spoken since");

        box.Agent.Serve();
        using var response = await job;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("\"facial-recognition\"", await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal(2, box.Ml.Calls.Count);
        Assert.All(box.Ml.Calls, c => Assert.Equal(Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(jpeg)), c.ImageSha256));
        Assert.All(box.Ml.Calls, c => Assert.Equal(sentLength, c.ContentLength));
        Assert.Equal(1, await shim.MetricAsync("""shim_replays_total{kind="face-detection",reason="connection-failed"}"""));
        Assert.Equal(0, (await shim.StatusAsync()).GetProperty("totals").GetProperty("lost").GetInt64());
        Assert.Contains("passed over until its agent says serving again",
            held.GetProperty("upstreams")[0].GetProperty("reason").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_CUDA_out_of_memory_answer_is_kept_from_Immich_and_the_job_is_sent_again_after_the_restart()
    {
        await using var box = await GpuBox.StartAsync();
        box.Ml.StuckError = CudaOutOfMemory;
        await using var shim = await ShimUnderTest.StartAsync([box.Endpoints]);
        await shim.WaitForStateAsync(0, "online");

        var job = shim.Client.SendAsync(ImmichPredictRequest.Job(JobKind.SmartSearch, PreviewJpeg.Small()), Ct);
        await shim.WaitForHeldAsync(1);
        await shim.WaitForStateAsync(0, "ml-failing");
        Assert.Single(box.Ml.Calls);
        // The agent reads the CUDA line and restarts the worker; the new one is not stuck.
        box.Agent.NotServing(WorkerState.Restarting, "restarting after a CUDA out-of-memory error");
        await shim.WaitForStateAsync(0, "restarting");
        box.Ml.StuckError = null;
        box.Agent.Serve();
        using var response = await job;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("\"clip\"", await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal(2, box.Ml.Calls.Count);
        Assert.Equal(1, await shim.MetricAsync("""shim_replays_total{kind="smart-search",reason="out-of-memory"}"""));
        var totals = (await shim.StatusAsync()).GetProperty("totals");
        Assert.Equal((1, 0), (totals.GetProperty("replayed").GetInt64(), totals.GetProperty("lost").GetInt64()));
    }

    [Fact]
    public async Task A_500_about_the_job_itself_goes_to_Immich_as_it_is()
    {
        await using var box = await GpuBox.StartAsync();
        box.Ml.StuckError = "cannot identify image file";
        await using var shim = await ShimUnderTest.StartAsync([box.Endpoints]);
        await shim.WaitForStateAsync(0, "online");

        using var response = await shim.Client.SendAsync(ImmichPredictRequest.Job(JobKind.Ocr, PreviewJpeg.Small()), Ct);

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("""{"detail":"cannot identify image file"}""", await response.Content.ReadAsStringAsync(Ct));
        Assert.Single(box.Ml.Calls);
        Assert.Equal(0, await shim.MetricAsync("""shim_replays_total{kind="ocr",reason="out-of-memory"}"""));
        Assert.Equal("online", (await shim.StatusAsync()).GetProperty("upstreams")[0].GetProperty("state").GetString());
    }

    [Theory]
    [InlineData(false, "ml-unreachable")]
    [InlineData(true, "ml-failing")]
    public async Task A_search_whose_box_fails_is_not_sent_again_and_gets_a_503_at_once(bool outOfMemory, string state)
    {
        await using var box = await GpuBox.StartAsync();
        box.Ml.DieBeforeResponse = !outOfMemory;
        box.Ml.StuckError = outOfMemory ? CudaOutOfMemory : null;
        await using var shim = await ShimUnderTest.StartAsync([box.Endpoints], [("SearchRetryAfter", "00:00:20")]);
        await shim.WaitForStateAsync(0, "online");

        using var response = await shim.Client.SendAsync(ImmichPredictRequest.Search("a dog on the beach"), Ct);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(20), response.Headers.RetryAfter?.Delta);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        Assert.Equal("gpu-host-unavailable", body.RootElement.GetProperty("error").GetString());
        Assert.Equal(state, body.RootElement.GetProperty("host").GetString());
        Assert.Single(box.Ml.Calls);
        Assert.DoesNotContain("shim_replays_total{", await shim.MetricsAsync(), StringComparison.Ordinal);
        Assert.Equal(1, await shim.MetricAsync($$"""shim_decisions_total{kind="search",decision="refuse",reason="{{state}}"}"""));
    }

    [Fact]
    public async Task A_job_whose_answer_had_started_streaming_is_not_sent_again_the_client_sees_the_cut()
    {
        await using var box = await GpuBox.StartAsync();
        box.Ml.DieMidResponse = true;
        // Bounds the test if the job were wrongly held to be sent again.
        await using var shim = await ShimUnderTest.StartAsync([box.Endpoints], [("HoldLimit", "00:00:10")]);
        await shim.WaitForStateAsync(0, "online");

        var error = await Record.ExceptionAsync(async () =>
        {
            using var response = await shim.Client.SendAsync(ImmichPredictRequest.Job(JobKind.FaceDetection, PreviewJpeg.Small()), HttpCompletionOption.ResponseContentRead, Ct);
        });

        Assert.True(error is HttpRequestException or IOException, $"expected a cut connection, got {error?.ToString() ?? "a whole answer"}");
        Assert.Single(box.Ml.Calls);
        Assert.DoesNotContain("shim_replays_total{", await shim.MetricsAsync(), StringComparison.Ordinal);
        var status = await shim.WaitForStatusAsync(s => s.GetProperty("totals").GetProperty("lost").GetInt64() == 1, "the cut job counted lost");
        Assert.Contains("upstream-error", status.GetProperty("events")[0].GetProperty("text").GetString(), StringComparison.Ordinal);
    }

    /// <param name="memoryBytes">Shim:SpoolMemoryBytes: 0 puts the whole body in the file; one chunk, all past its first 16 KiB.</param>
    [Theory]
    [InlineData(0)]
    [InlineData(SpoolMemory.ChunkBytes)]
    public async Task A_failed_job_is_sent_again_only_within_the_hold_limit_and_its_spool_file_is_deleted(int memoryBytes)
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-05-01T20:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var spool = Directory.CreateTempSubdirectory("gpusplit-shim-spool-test-");
        try
        {
            await using var box = await GpuBox.StartAsync();
            box.Ml.DieBeforeResponse = true;
            await using var shim = await ShimUnderTest.StartAsync([box.Endpoints],
                [("SpoolDirectory", spool.FullName), ("SpoolMemoryBytes", memoryBytes.ToString(System.Globalization.CultureInfo.InvariantCulture))], time);
            await shim.WaitForStateAsync(0, "online");
            using var request = ImmichPredictRequest.Job(JobKind.Ocr, PreviewJpeg.Small());
            var length = request.Content!.Headers.ContentLength;
            Assert.True(length > SpoolMemory.ChunkBytes, $"the form ({length} bytes) must outgrow one chunk");

            var job = shim.Client.SendAsync(request, Ct);
            await shim.WaitForHeldAsync(1);
            var file = Assert.Single(spool.GetFiles());
            Assert.Equal(length - memoryBytes, file.Length);
            time.Advance(TimeSpan.FromSeconds(239));
            await Task.Delay(50, Ct);
            Assert.False(job.IsCompleted, "answered before the 240 s hold limit");
            time.Advance(TimeSpan.FromSeconds(1));
            using var response = await job;

            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Contains("hold-timeout", await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
            Assert.Single(box.Ml.Calls);
            Assert.Equal(1, await shim.MetricAsync("""shim_lost_jobs_total{kind="ocr",reason="hold-timeout"}"""));
            await shim.WaitForStatusAsync(_ => spool.GetFiles().Length == 0, "the spool file deleted");

            // A job that goes through leaves nothing behind either.
            box.Ml.DieBeforeResponse = false;
            box.Agent.Serve();
            await shim.WaitForStateAsync(0, "online");
            using var answered = await shim.Client.SendAsync(ImmichPredictRequest.Job(JobKind.Ocr, PreviewJpeg.Small(2)), Ct);
            Assert.Equal(HttpStatusCode.OK, answered.StatusCode);
            await shim.WaitForStatusAsync(_ => spool.GetFiles().Length == 0, "no spool file left");
        }
        finally
        {
            spool.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task A_job_on_a_box_that_vanishes_is_taken_back_and_sent_again_on_a_fresh_connection_when_the_box_returns()
    {
        await using var ml = await MlStandIn.StartAsync(Ct);
        var agent = await TestAgent.StartAsync(Ct);
        var agentPort = agent.Address.Port;
        agent.Serve();
        await using var shim = await ShimUnderTest.StartAsync([(ml.Address, agent.Address)]);
        await shim.WaitForStateAsync(0, "online");
        // The box takes the job, then goes silent: its link is down, the connection stalls.
        ml.Gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        var job = shim.Client.SendAsync(ImmichPredictRequest.Job(JobKind.SmartSearch, PreviewJpeg.Small()), Ct);
        await shim.WaitForStatusAsync(_ => ml.Calls.Count == 1, "the box to take the job");
        ml.DropPings = true;
        await agent.DisposeAsync();
        await shim.WaitForHeldAsync(1);
        Assert.Equal(1, await shim.MetricAsync("""shim_replays_total{kind="smart-search",reason="box-gone"}"""));
        ml.Gate = null;
        ml.DropPings = false;

        await using var back = await TestAgent.StartAsync(Ct, agentPort);
        back.Serve();
        using var response = await job;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(2, ml.Calls.Count);
        Assert.Equal(0, (await shim.StatusAsync()).GetProperty("totals").GetProperty("lost").GetInt64());
    }
}
