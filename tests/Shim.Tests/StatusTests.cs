using System.Net;
using System.Text.Json;
using GpuSplit.Planner.Service;
using GpuSplit.Protos.V1;
using GpuSplit.Shim.Tests.Infrastructure;

namespace GpuSplit.Shim.Tests;

/// <summary>What the shim answers itself: /ping, /status (as a person sees it), /status.json, /status.svg, /metrics.</summary>
public sealed class StatusTests
{
    private const string Token = "s3cret-agent-token-7f3a";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Ping_answers_pong_itself_whether_the_box_serves_or_sleeps()
    {
        await using var box = await GpuBox.StartAsync();
        await using var asleep = new AsleepBox();
        await using var serving = await ShimUnderTest.StartAsync([box.Endpoints]);
        await using var sleeping = await ShimUnderTest.StartAsync([asleep.Endpoints]);
        await serving.WaitForStateAsync(0, "online");
        await sleeping.WaitForStateAsync(0, "asleep");

        foreach (var shim in new[] { serving, sleeping })
        {
            using var response = await shim.Client.GetAsync("/ping", Ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("pong", await response.Content.ReadAsStringAsync(Ct));
        }

        Assert.Empty(box.Ml.Calls);
    }

    [Fact]
    public async Task Without_holding_ping_is_503_while_the_box_sleeps_and_pong_once_it_serves()
    {
        await using var box = await GpuBox.StartAsync();
        await using var asleep = new AsleepBox();
        (string, string)[] noHolding = [("MaxHeldRequests", "0")];
        await using var sleeping = await ShimUnderTest.StartAsync([asleep.Endpoints], noHolding);
        await using var serving = await ShimUnderTest.StartAsync([box.Endpoints], noHolding);
        await sleeping.WaitForStateAsync(0, "asleep");
        await serving.WaitForStateAsync(0, "online");

        // Immich would send jobs only to have each refused: the check tells it the truth instead.
        using var refused = await sleeping.Client.GetAsync("/ping", Ct);
        using var pong = await serving.Client.GetAsync("/ping", Ct);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Contains("asleep", await refused.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, pong.StatusCode);
        Assert.Equal("pong", await pong.Content.ReadAsStringAsync(Ct));
    }

    [Fact]
    public async Task Status_json_svg_and_metrics_describe_a_serving_box_and_never_show_the_agent_token()
    {
        await using var box = await GpuBox.StartAsync(freeBytes: (6 * TestAgent.GiB) - (3 * TestAgent.GiB / 2));
        await using var shim = await ShimUnderTest.StartAsync([box.Endpoints], token: Token);
        await shim.WaitForStatusAsync(s => s.GetProperty("upstreams")[0].GetProperty("gpus").GetArrayLength() == 1, "a VRAM report");
        using (await shim.Client.SendAsync(ImmichPredictRequest.Job(JobKind.SmartSearch, PreviewJpeg.Small()), Ct))
        {
        }

        var json = await shim.Client.GetStringAsync("/status.json", Ct);
        var svg = await shim.Client.GetStringAsync("/status.svg", Ct);
        var page = await shim.Client.GetStringAsync("/status", Ct);
        var metrics = await shim.MetricsAsync();

        using var status = JsonDocument.Parse(json);
        var root = status.RootElement;
        Assert.Equal("GPU host: online · ML jobs flowing", root.GetProperty("badge").GetString());
        Assert.Equal("flowing", root.GetProperty("jobs").GetProperty("state").GetString());
        var upstream = root.GetProperty("upstreams")[0];
        Assert.Equal("gpu-box-0", upstream.GetProperty("name").GetString());
        Assert.Equal("serving", upstream.GetProperty("condition").GetString());
        Assert.Equal(3 * TestAgent.GiB / 2, upstream.GetProperty("gpus")[0].GetProperty("memoryUsedBytes").GetUInt64());
        Assert.Equal("running", upstream.GetProperty("worker").GetProperty("state").GetString());
        Assert.Equal(1, root.GetProperty("totals").GetProperty("forwarded").GetInt64());
        Assert.Contains("GPU host: online · ML jobs flowing</text>", svg, StringComparison.Ordinal);
        Assert.Contains("#2e7d32", svg, StringComparison.Ordinal);
        Assert.Contains("""shim_upstream_serving{upstream="gpu-box-0"} 1""", metrics, StringComparison.Ordinal);
        Assert.Contains("""shim_upstream_state{upstream="gpu-box-0",state="online"} 1""", metrics, StringComparison.Ordinal);
        Assert.Contains("""shim_upstream_vram_free_bytes{upstream="gpu-box-0"} 4831838208""", metrics, StringComparison.Ordinal);
        Assert.Contains("""shim_decisions_total{kind="smart-search",decision="forward",reason="serving"} 1""", metrics, StringComparison.Ordinal);
        Assert.Contains("process_working_set_bytes", metrics, StringComparison.Ordinal);
        foreach (var shown in new[] { json, svg, page, metrics })
        {
            Assert.DoesNotContain(Token, shown, StringComparison.Ordinal);
        }

        Assert.Contains($"Bearer {Token}", box.Agent.Service.Authorizations);
    }

    [Fact]
    public async Task The_status_page_as_a_person_sees_it_in_Chromium_while_the_box_sleeps_and_a_job_waits()
    {
        await using var asleep = new AsleepBox();
        await using var shim = await ShimUnderTest.StartAsync([asleep.Endpoints], token: Token);
        await shim.WaitForStateAsync(0, "asleep");
        var job = shim.Client.SendAsync(ImmichPredictRequest.Job(JobKind.FaceDetection, PreviewJpeg.Small()), Ct);
        await shim.WaitForHeldAsync(1);

        var text = await HeadlessChromium.RenderedTextAsync(new Uri(shim.BaseAddress, "/status"));

        Assert.Contains("GPU host: asleep · ML jobs held", text, StringComparison.Ordinal);
        // Only the page's script writes these lines: they prove it ran and rendered the snapshot.
        Assert.Contains("Held now: 1 of at most 64 (each waits up to 240 s)", text, StringComparison.Ordinal);
        Assert.Contains("gpu-box-0: asleep", text, StringComparison.Ordinal);
        Assert.Contains("its agent does not answer: asleep, off or unreachable", text, StringComparison.Ordinal);
        Assert.Contains("VRAM: not reported (the agent is not answering)", text, StringComparison.Ordinal);
        Assert.Matches(@"Since \S+.* \(\d+ s ago\)", text);
        Assert.Contains("gpu-box-0: checking-ml → asleep", text, StringComparison.Ordinal);
        Assert.DoesNotContain(Token, text, StringComparison.Ordinal);
        Assert.False(job.IsCompleted);
    }

    [Fact]
    public async Task The_status_page_in_Chromium_shows_VRAM_and_the_worker_of_a_serving_box_and_one_restarting()
    {
        await using var healthy = await GpuBox.StartAsync(freeBytes: 4 * TestAgent.GiB);
        await using var restarting = await GpuBox.StartAsync(serving: false);
        restarting.Agent.NotServing(WorkerState.Restarting, "worker restarting after CUDA out of memory");
        await using var shim = await ShimUnderTest.StartAsync([healthy.Endpoints, restarting.Endpoints]);
        await shim.WaitForStateAsync(1, "restarting");
        await shim.WaitForStatusAsync(s => s.GetProperty("upstreams")[0].GetProperty("gpus").GetArrayLength() == 1, "a VRAM report");

        var text = await HeadlessChromium.RenderedTextAsync(new Uri(shim.BaseAddress, "/status"));

        Assert.Contains("GPU host: online · ML jobs flowing", text, StringComparison.Ordinal);
        Assert.Contains("VRAM in use: 2.0 GiB of 6.0 GiB (4.0 GiB free) on GPU 0, NVIDIA GeForce GTX 1060 6GB", text, StringComparison.Ordinal);
        Assert.Contains("gpu-box-1: restarting", text, StringComparison.Ordinal);
        Assert.Contains("worker restarting after CUDA out of memory", text, StringComparison.Ordinal);
        Assert.Contains("ML worker immich_machine_learning: restarting, restarted 2 times", text, StringComparison.Ordinal);
        Assert.Contains("Forwarded: 0 · held: 0 · released: 0 · replayed: 0 · lost: 0", text, StringComparison.Ordinal);
    }
}
