using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using GpuSplit.Planner.Service;
using GpuSplit.Shim.Immich;
using GpuSplit.Shim.Power;
using GpuSplit.Shim.Tests.Infrastructure;
using ImmichApiStandIn = GpuSplit.Testing.Immich.ImmichApiStandIn;

namespace GpuSplit.Shim.Tests.Power;

/// <summary>
/// The power loop inside the real shim: real Kestrel, real holding, the agent over real gRPC, magic packets to a UDP
/// listener on loopback and Immich's API on a real HTTP server; what the status page says, as Chromium renders it.
/// </summary>
public sealed class ShimPowerTests
{
    private const string Mac = "1c:1b:0d:9a:4e:f2";
    private const string AgentToken = "agent-token";
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task An_outage_from_held_job_to_sleep()
    {
        using var wake = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        await using var immich = await ImmichApiStandIn.StartAsync(cancellationToken: Ct);
        await using var asleep = new AsleepBox();
        await using var shim = await ShimUnderTest.StartAsync([asleep.Endpoints], Settings(wake, immich), token: AgentToken);
        await shim.WaitForStateAsync(0, "asleep");

        // A job arrives while the box sleeps: it is held, and the box is woken at once.
        var job = shim.Client.SendAsync(ImmichPredictRequest.Job(JobKind.SmartSearch, PreviewJpeg.Small()), Ct);
        var packet = await ReceiveAsync(wake);
        Assert.Equal(MagicPacket.For(MacAddressOf(Mac)), packet);
        // Meanwhile Immich queued more than the threshold: the box stays wanted after the held job is gone.
        immich.SetStatistics("smartSearch", waiting: 60);
        var waking = await shim.WaitForStatusAsync(s => Box(s).GetProperty("wake").GetString() == "waking", "waking on the status");
        Assert.StartsWith("waking since ", Box(waking).GetProperty("wakeText").GetString(), StringComparison.Ordinal);
        Assert.Contains(waking.GetProperty("events").EnumerateArray(), e =>
            e.GetProperty("text").GetString() is { } text && text.StartsWith("gpu-box-0: waking since ", StringComparison.Ordinal)
            && text.EndsWith(": 1 held job(s) waiting", StringComparison.Ordinal));
        var page = await HeadlessChromium.RenderedTextAsync(new Uri(shim.BaseAddress, "/status"));
        Assert.Contains("gpu-box-0: waking since ", page, StringComparison.Ordinal);

        // The box does not come within the hold limit: the job is lost, and Immich's ML queues are paused.
        using (var lost = await job)
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, lost.StatusCode);
        }

        var paused = await shim.WaitForStatusAsync(s => Power(s).GetProperty("pausedQueues").GetArrayLength() == 3, "the ML queues paused");
        Assert.All(ImmichQueues.MachineLearning, q => Assert.True(immich.IsPaused(q), q));
        var lostQueue = Assert.Single(Power(paused).GetProperty("lost").EnumerateArray());
        Assert.Equal(("smartSearch", 1), (lostQueue.GetProperty("queue").GetString(), lostQueue.GetProperty("count").GetInt32()));

        // The box wakes: queues resumed; once Immich has worked off its backlog, "Missing" is pressed once for the
        // queue that lost a job, and for no other.
        var agent = (await asleep.WakeAsync(serving: false)).Agent;
        agent.Service.Token = AgentToken;
        agent.Serve();
        await WaitAsync(() => ImmichQueues.MachineLearning.All(q => !immich.IsPaused(q)), "the ML queues resumed");
        Assert.Equal(0, immich.MissingPresses("smartSearch"));
        immich.SetStatistics("smartSearch", waiting: 0, completed: 60);
        await shim.WaitForStatusAsync(s => Power(s).GetProperty("lost").GetArrayLength() == 0, "Missing pressed for the lost job");
        Assert.Equal(1, immich.MissingPresses("smartSearch"));
        Assert.Equal(0, immich.MissingPresses("faceDetection") + immich.MissingPresses("ocr"));
        using (var after = await shim.Client.SendAsync(ImmichPredictRequest.Job(JobKind.SmartSearch, PreviewJpeg.Small()), Ct))
        {
            Assert.Equal(HttpStatusCode.OK, after.StatusCode);
        }

        // Idle with Immich's queues empty: the agent is asked to sleep, with its token.
        await WaitAsync(() => agent.Service.SleepRequests.Count > 0, "a Sleep request");
        Assert.StartsWith("no ML work for ", agent.Service.SleepRequests[0], StringComparison.Ordinal);
        Assert.Contains($"Bearer {AgentToken}", agent.Service.Authorizations);
        var asked = await shim.WaitForStatusAsync(s => Box(s).GetProperty("sleep").GetString()!.StartsWith("asked to sleep", StringComparison.Ordinal), "asked to sleep");
        var events = asked.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("text").GetString()).ToArray();
        Assert.Contains(events, e => e!.StartsWith("gpu-box-0: magic packet sent to 1c:1b:0d:9a:4e:f2 via 127.0.0.1:", StringComparison.Ordinal));
        Assert.Contains(events, e => e!.StartsWith("paused Immich's smartSearch, faceDetection, ocr queue(s)", StringComparison.Ordinal));
        Assert.Contains(events, e => e!.StartsWith("resumed Immich's smartSearch, faceDetection, ocr queue(s)", StringComparison.Ordinal));
        Assert.Contains(events, e => e!.StartsWith("pressed \"Missing\" for smartSearch: 1 job(s) lost", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_shim_restarted_during_the_outage_still_resumes_the_queues_it_paused_and_presses_missing_for_what_was_lost()
    {
        using var wake = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        await using var immich = await ImmichApiStandIn.StartAsync(cancellationToken: Ct);
        await using var asleep = new AsleepBox();
        var ledger = Path.Combine(Path.GetTempPath(), "gpusplit-tests", $"shim-power-restart-{Guid.NewGuid():N}.json");
        (string, string)[] settings = [.. Settings(wake, immich), ("Power:LedgerFile", ledger)];
        await using (var before = await ShimUnderTest.StartAsync([asleep.Endpoints], settings, token: AgentToken))
        {
            await before.WaitForStateAsync(0, "asleep");
            using (var lost = await before.Client.SendAsync(ImmichPredictRequest.Job(JobKind.FaceDetection, PreviewJpeg.Small()), Ct))
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, lost.StatusCode);
            }

            await before.WaitForStatusAsync(s => Power(s).GetProperty("pausedQueues").GetArrayLength() == 3, "the ML queues paused");
        }

        // A new shim process (an update, a crash) while the box still sleeps: Immich shows the queues paused, and only the
        // ledger says that this shim paused them, not an admin.
        await using var after = await ShimUnderTest.StartAsync([asleep.Endpoints], settings, token: AgentToken);
        var kept = await after.WaitForStatusAsync(s => Power(s).GetProperty("lost").GetArrayLength() == 1, "the loss kept across the restart");
        Assert.Equal(3, Power(kept).GetProperty("pausedQueues").GetArrayLength());
        Assert.All(ImmichQueues.MachineLearning, q => Assert.True(immich.IsPaused(q), q));

        await asleep.WakeAsync();
        await WaitAsync(() => ImmichQueues.MachineLearning.All(q => !immich.IsPaused(q)), "the ML queues resumed by the restarted shim");
        await WaitAsync(() => immich.MissingPresses("faceDetection") == 1, "Missing pressed for faceDetection by the restarted shim");
        Assert.Equal(0, immich.MissingPresses("smartSearch") + immich.MissingPresses("ocr"));
        File.Delete(ledger);
    }

    [Fact]
    public async Task A_box_going_to_sleep_on_purpose_holds_work_and_is_shown_as_such()
    {
        await using var box = await GpuBox.StartAsync();
        await using var shim = await ShimUnderTest.StartAsync([box.Endpoints]);
        await shim.WaitForStateAsync(0, "online");

        var status = TestAgent.Status(false, "going to sleep on purpose: no ML work for 15 min", Protos.V1.WorkerState.Running, 0);
        status.Power = new Protos.V1.PowerStatus { GoingToSleep = true, Reason = "no ML work for 15 min" };
        box.Agent.Service.Publish(status);
        await shim.WaitForStateAsync(0, "going-to-sleep");
        var job = shim.Client.SendAsync(ImmichPredictRequest.Job(JobKind.FaceDetection, PreviewJpeg.Small()), Ct);
        await shim.WaitForHeldAsync(1);

        Assert.Empty(box.Ml.Calls);
        Assert.Equal("going to sleep on purpose: no ML work for 15 min", (await shim.StatusAsync()).GetProperty("upstreams")[0].GetProperty("reason").GetString());
        box.Agent.Serve();
        using var response = await job;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Fact]
    public async Task Without_an_api_key_the_status_page_says_the_immich_features_are_off()
    {
        await using var box = await GpuBox.StartAsync();
        await using var shim = await ShimUnderTest.StartAsync([box.Endpoints]);

        var status = await shim.WaitForStatusAsync(s => Power(s).GetProperty("immichApi").GetString() == ImmichOptions.DisabledReason, "the API reported off");
        var page = await HeadlessChromium.RenderedTextAsync(new Uri(shim.BaseAddress, "/status"));

        Assert.Contains("Immich API key not configured (Shim__Immich__ApiKey): no queue backlog, pause, resume or Missing", page, StringComparison.Ordinal);
        Assert.Contains("gpu-box-0: Wake-on-LAN not configured", page, StringComparison.Ordinal);
        Assert.Equal("off", Box(status).GetProperty("wake").GetString());
    }

    private static IEnumerable<(string Key, string Value)> Settings(UdpClient wake, ImmichApiStandIn immich) =>
    [
        ("Upstreams:0:Wake:Mac", Mac),
        ("Upstreams:0:Wake:Address", "127.0.0.1"),
        ("Upstreams:0:Wake:Port", ((IPEndPoint)wake.Client.LocalEndPoint!).Port.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        ("Immich:Url", immich.Url.ToString()),
        ("Immich:ApiKey", immich.ApiKey),
        ("HoldLimit", "00:00:01"),
        ("Power:PollInterval", "00:00:00.200"),
        ("Power:IdleTime", "00:00:01"),
    ];

    private static JsonElement Power(JsonElement status) => status.GetProperty("power");

    private static JsonElement Box(JsonElement status) => Power(status).GetProperty("boxes")[0];

    private static MacAddress MacAddressOf(string text) => MacAddress.TryParse(text, out var mac) ? mac : throw new ArgumentException(text);

    private static async Task<byte[]> ReceiveAsync(UdpClient listener)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(Bound);
        return (await listener.ReceiveAsync(timeout.Token)).Buffer;
    }

    private static async Task WaitAsync(Func<bool> condition, string what)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < Bound, $"waited {Bound.TotalSeconds} s for {what}");
            await Task.Delay(20, Ct);
        }
    }
}
