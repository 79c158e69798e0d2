using System.Net;
using System.Text.Json;
using GpuSplit.Planner.Service;
using GpuSplit.Protos.V1;
using GpuSplit.Shim.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace GpuSplit.Shim.Tests;

/// <summary>What happens to work while the GPU box is away: background jobs wait, searches are told at once.</summary>
public sealed class HoldingTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_held_job_is_released_when_the_agent_reports_serving()
    {
        await using var box = await GpuBox.StartAsync(serving: false);
        box.Agent.NotServing(WorkerState.Restarting, "worker restarting after CUDA out of memory");
        await using var shim = await ShimUnderTest.StartAsync([box.Endpoints]);
        await shim.WaitForStateAsync(0, "restarting");

        var job = shim.Client.SendAsync(ImmichPredictRequest.Job(JobKind.FaceDetection, PreviewJpeg.Small()), Ct);
        var held = await shim.WaitForStatusAsync(s => s.GetProperty("hold").GetProperty("held").GetInt32() == 1, "the job held");
        Assert.Empty(box.Ml.Calls);
        Assert.Equal("GPU host: restarting · ML jobs held", held.GetProperty("badge").GetString());

        box.Agent.Serve();
        using var response = await job;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Single(box.Ml.Calls);
        Assert.Equal(1, await shim.MetricAsync("""shim_decisions_total{kind="face-detection",decision="hold",reason="restarting"}"""));
        Assert.Equal(1, await shim.MetricAsync("""shim_decisions_total{kind="face-detection",decision="forward",reason="released"}"""));
        var totals = (await shim.StatusAsync()).GetProperty("totals");
        Assert.Equal(1, totals.GetProperty("released").GetInt64());
        Assert.Equal(0, totals.GetProperty("lost").GetInt64());
    }

    [Fact]
    public async Task A_held_job_is_released_when_an_asleep_boxs_agent_comes_up()
    {
        await using var asleep = new AsleepBox();
        await using var shim = await ShimUnderTest.StartAsync([asleep.Endpoints]);
        await shim.WaitForStateAsync(0, "asleep");

        var job = shim.Client.SendAsync(ImmichPredictRequest.Job(JobKind.SmartSearch, PreviewJpeg.Small()), Ct);
        await shim.WaitForHeldAsync(1);
        var box = await asleep.WakeAsync();
        using var response = await job;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Single(box.Ml.Calls);
        // The ML service may answer the shim's ping a moment before the agent is up: the agent then takes over.
        await shim.WaitForStateAsync(0, "online");
    }

    [Fact]
    public async Task A_held_job_whose_limit_runs_out_gets_a_503_and_is_counted_lost()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-05-01T20:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        await using var asleep = new AsleepBox();
        await using var shim = await ShimUnderTest.StartAsync([asleep.Endpoints], time: time);
        await shim.WaitForStateAsync(0, "asleep");

        var job = shim.Client.SendAsync(ImmichPredictRequest.Job(JobKind.Ocr, PreviewJpeg.Small()), Ct);
        await shim.WaitForHeldAsync(1);
        time.Advance(TimeSpan.FromSeconds(239));
        await Task.Delay(50, Ct);
        Assert.False(job.IsCompleted, "released before the 240 s hold limit");
        time.Advance(TimeSpan.FromSeconds(1));
        using var response = await job;

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        Assert.Equal("hold-timeout", body.RootElement.GetProperty("error").GetString());
        Assert.Equal("asleep", body.RootElement.GetProperty("host").GetString());
        Assert.Contains("240 s", body.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(1, await shim.MetricAsync("""shim_lost_jobs_total{kind="ocr",reason="hold-timeout"}"""));
        var status = await shim.StatusAsync();
        Assert.Equal(1, status.GetProperty("totals").GetProperty("lost").GetInt64());
        Assert.Equal(0, status.GetProperty("hold").GetProperty("held").GetInt32());
        Assert.StartsWith("Lost a ocr job (hold-timeout)", status.GetProperty("events")[0].GetProperty("text").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_search_query_is_answered_503_at_once_with_the_reason_while_the_box_is_away()
    {
        await using var asleep = new AsleepBox();
        await using var shim = await ShimUnderTest.StartAsync([asleep.Endpoints], [("SearchRetryAfter", "00:00:20")]);
        await shim.WaitForStateAsync(0, "asleep");

        using var response = await shim.Client.SendAsync(ImmichPredictRequest.Search("birthday cake"), Ct);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(20), response.Headers.RetryAfter?.Delta);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        Assert.Equal("gpu-host-unavailable", body.RootElement.GetProperty("error").GetString());
        Assert.Equal("asleep", body.RootElement.GetProperty("host").GetString());
        Assert.StartsWith("GPU host asleep: its agent does not answer", body.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(20, body.RootElement.GetProperty("retryAfterSeconds").GetInt32());
        var status = await shim.StatusAsync();
        Assert.Equal(0, status.GetProperty("hold").GetProperty("held").GetInt32());
        Assert.Equal(1, status.GetProperty("totals").GetProperty("searchesRefused").GetInt64());
        Assert.Equal(0, status.GetProperty("totals").GetProperty("lost").GetInt64());
        Assert.Equal(1, await shim.MetricAsync("""shim_decisions_total{kind="search",decision="refuse",reason="asleep"}"""));
    }

    [Fact]
    public async Task An_agent_that_misses_its_heartbeats_counts_as_gone_though_its_connection_stays_open()
    {
        var (box, serving) = await GpuBox.StartWithHeartbeatAsync(200);
        await using var owned = box;
        await using var shim = await ShimUnderTest.StartAsync([box.Endpoints]);
        await shim.WaitForStateAsync(0, "online");

        // A frozen agent: the connection stays up and health still says SERVING, but the promised heartbeats stop. Its ML
        // service still answers: the shim asks it itself, and the work goes there without the agent's view.
        box.Agent.Service.Silent = true;
        var gone = await shim.WaitForStatusAsync(s => s.GetProperty("upstreams")[0].GetProperty("state").GetString() == "agent-unreachable", "the agent counted as gone");
        using var search = await shim.Client.SendAsync(ImmichPredictRequest.Search("birthday cake"), Ct);

        Assert.Contains("no status from the agent for 0.8 s", gone.GetProperty("upstreams")[0].GetProperty("reason").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, search.StatusCode);
        Assert.Single(box.Ml.Calls);

        // It speaks again (as an older agent, which promises nothing): the status stream opened anew hears it.
        var plain = serving.Clone();
        plain.HeartbeatMs = 0;
        box.Agent.Service.Silent = false;
        box.Agent.Service.Publish(plain);
        await shim.WaitForStateAsync(0, "online");
    }

    [Fact]
    public async Task Past_the_held_request_cap_a_job_is_refused_and_held_jobs_get_a_503_when_the_shim_stops()
    {
        await using var asleep = new AsleepBox();
        await using var shim = await ShimUnderTest.StartAsync([asleep.Endpoints], [("MaxHeldRequests", "2")]);
        await shim.WaitForStateAsync(0, "asleep");
        using var client = ShimUnderTest.NewClient(shim.BaseAddress);

        var first = client.SendAsync(ImmichPredictRequest.Job(JobKind.FaceDetection, PreviewJpeg.Small(1)), Ct);
        var second = client.SendAsync(ImmichPredictRequest.Job(JobKind.FaceDetection, PreviewJpeg.Small(2)), Ct);
        await shim.WaitForHeldAsync(2);
        using var third = await shim.Client.SendAsync(ImmichPredictRequest.Job(JobKind.SmartSearch, PreviewJpeg.Small(3)), Ct);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, third.StatusCode);
        using (var body = JsonDocument.Parse(await third.Content.ReadAsStringAsync(Ct)))
        {
            Assert.Equal("hold-full", body.RootElement.GetProperty("error").GetString());
        }

        Assert.Equal(1, await shim.MetricAsync("""shim_lost_jobs_total{kind="smart-search",reason="hold-full"}"""));
        Assert.False(first.IsCompleted || second.IsCompleted, "a held job was answered while the box slept");

        await shim.DisposeAsync();
        foreach (var held in new[] { await first, await second })
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, held.StatusCode);
            Assert.Contains("shim-stopping", await held.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
            held.Dispose();
        }
    }

    [Theory]
    [InlineData(WorkerState.GpuUnsupported, "unsupported", "no kernel image is available for execution on the device")]
    [InlineData(WorkerState.CrashLooping, "crash-looping", "worker restarted 5 times in 10 minutes")]
    public async Task Lasting_trouble_refuses_every_job_at_once_with_the_reason_and_ping_says_503(WorkerState worker, string state, string reason)
    {
        await using var box = await GpuBox.StartAsync(serving: false);
        box.Agent.NotServing(worker, reason);
        await using var shim = await ShimUnderTest.StartAsync([box.Endpoints]);
        await shim.WaitForStateAsync(0, state);

        using var job = await shim.Client.SendAsync(ImmichPredictRequest.Job(JobKind.SmartSearch, PreviewJpeg.Small()), Ct);
        using var ping = await shim.Client.GetAsync("/ping", Ct);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, job.StatusCode);
        Assert.Null(job.Headers.RetryAfter);
        using var body = JsonDocument.Parse(await job.Content.ReadAsStringAsync(Ct));
        Assert.Equal("gpu-host-unusable", body.RootElement.GetProperty("error").GetString());
        Assert.Equal(state, body.RootElement.GetProperty("host").GetString());
        Assert.Contains(reason, body.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ping.StatusCode);
        Assert.Contains(reason, await ping.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Empty(box.Ml.Calls);
        var status = await shim.StatusAsync();
        Assert.Equal($"GPU host: {state} · ML jobs failing", status.GetProperty("badge").GetString());
        Assert.False(status.GetProperty("acceptingWork").GetBoolean());
        Assert.Equal(1, await shim.MetricAsync($$"""shim_lost_jobs_total{kind="smart-search",reason="{{state}}"}"""));
    }
}
