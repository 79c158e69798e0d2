using System.Net;
using System.Net.Sockets;
using GpuSplit.Protos.V1;
using GpuSplit.Shim.Immich;
using GpuSplit.Shim.Power;
using GpuSplit.Testing.Immich;
using GpuSplit.Shim.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace GpuSplit.Shim.Tests.Power;

/// <summary>
/// The power loop with real parts on loopback: magic packets to a UDP listener, Immich's API on a real HTTP server,
/// the agent's Sleep over real gRPC. The proxy's view of the boxes is set by the test, and the clock is fake.
/// </summary>
public sealed class PowerLoopTests : IAsyncLifetime
{
    private static readonly TimeSpan HoldLimit = TimeSpan.FromSeconds(240);
    private readonly FakeTimeProvider _clock = new(new DateTimeOffset(2026, 3, 14, 12, 0, 0, TimeSpan.Zero));
    private readonly UdpClient _wakeListener = new(new IPEndPoint(IPAddress.Loopback, 0));
    private readonly HttpClient _http = new();
    private readonly GrpcAgentPower _agents = new(NullLoggerFactory.Instance);
    private readonly Inputs _inputs = new();
    private readonly PowerSignals _signals;
    private ImmichApiStandIn _immich = null!;
    private TestAgent _agent = null!;

    public PowerLoopTests() => _signals = new PowerSignals(_clock);

    public async ValueTask InitializeAsync()
    {
        _immich = await ImmichApiStandIn.StartAsync(cancellationToken: TestContext.Current.CancellationToken);
        _agent = await TestAgent.StartAsync(TestContext.Current.CancellationToken);
        _agent.Service.Token = "agent-token";
        _inputs.Box = new BoxState(0, "gpu-box", _agent.Address, Answering: false, Serving: false, GoingToSleep: false, InFlight: 0) { Token = "agent-token" };
    }

    public async ValueTask DisposeAsync()
    {
        await _immich.DisposeAsync();
        await _agent.DisposeAsync();
        _agents.Dispose();
        _http.Dispose();
        _wakeListener.Dispose();
    }

    [Fact]
    public async Task A_whole_outage_wakes_pauses_resumes_presses_missing_and_sleeps()
    {
        var loop = Loop();
        _immich.SetStatistics("smartSearch", waiting: 10);

        // Asleep, a small backlog under the threshold: nothing to do.
        await loop.RunOnceAsync(TestContext.Current.CancellationToken);
        Assert.Equal(0, PacketsReceived());
        Assert.Equal(WakeState.Idle, loop.Report.Boxes.Single().Wake!.State);

        // A job is held: a packet at once, and the status says since when.
        _inputs.HeldJobs = 1;
        await loop.RunOnceAsync(TestContext.Current.CancellationToken);
        Assert.Equal(1, PacketsReceived());
        var waking = loop.Report.Boxes.Single();
        Assert.Equal("waking since 2026-03-14 12:00:00Z: 1 held job(s) waiting", PowerLoop.Describe(waking.Wake!));
        Assert.True(waking.LastPacket!.Sent);

        // The box stays away past the hold limit: the held job is lost, the ML queues are paused.
        _clock.Advance(HoldLimit);
        _inputs.HeldJobs = 0;
        _signals.JobLost(ImmichQueues.SmartSearch);
        await loop.RunOnceAsync(TestContext.Current.CancellationToken);
        Assert.All(ImmichQueues.MachineLearning, q => Assert.True(_immich.IsPaused(q), q));
        Assert.Equal(ImmichQueues.MachineLearning, loop.Report.PausedByShim);
        Assert.Equal(1, loop.Report.LostSinceMissing[ImmichQueues.SmartSearch].Count);

        // The box serves again: queues resumed; "Missing" waits for the backlog to drain.
        _inputs.Box = _inputs.Box with { Answering = true, Serving = true };
        await loop.RunOnceAsync(TestContext.Current.CancellationToken);
        Assert.All(ImmichQueues.MachineLearning, q => Assert.False(_immich.IsPaused(q), q));
        Assert.Empty(loop.Report.PausedByShim);
        Assert.Equal(0, _immich.MissingPresses(ImmichQueues.SmartSearch));

        _immich.SetStatistics("smartSearch", waiting: 0);
        await loop.RunOnceAsync(TestContext.Current.CancellationToken);
        await loop.RunOnceAsync(TestContext.Current.CancellationToken);
        Assert.Equal(1, _immich.MissingPresses(ImmichQueues.SmartSearch));
        Assert.Equal(0, _immich.MissingPresses(ImmichQueues.FaceDetection));
        Assert.Empty(loop.Report.LostSinceMissing);

        // Idle with empty queues: the agent is asked to sleep, once, with its token.
        _inputs.LastWorkAt = _clock.GetUtcNow();
        _clock.Advance(TimeSpan.FromMinutes(15));
        await loop.RunOnceAsync(TestContext.Current.CancellationToken);
        Assert.Equal("asking the agent to sleep: no ML work for 15 min and Immich's ML queues are empty", loop.Report.Boxes.Single().Sleep);
        await RunUntilAsync(loop, r => r.Boxes.Single().Sleep.StartsWith("asked to sleep", StringComparison.Ordinal));
        await loop.RunOnceAsync(TestContext.Current.CancellationToken);
        Assert.Equal(["no ML work for 15 min and Immich's ML queues are empty"], _agent.Service.SleepRequests);
        Assert.Equal("Bearer agent-token", _agent.Service.Authorizations.Single());
        Assert.Equal("asked to sleep: no ML work for 15 min and Immich's ML queues are empty", loop.Report.Boxes.Single().Sleep);
        Assert.Null(loop.Report.Immich);
        Assert.Equal(0, PacketsReceived());
        Assert.Contains(loop.Report.Events, e => e.Text == "paused Immich's smartSearch, faceDetection, ocr queue(s): the GPU box is away for 240 s, past the hold limit of 240 s");
        Assert.Contains(loop.Report.Events, e => e.Text.StartsWith("pressed \"Missing\" for smartSearch: 1 job(s) lost since", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_refusal_from_the_agent_is_shown_and_asked_again_only_after_the_retry_interval()
    {
        var loop = Loop();
        _inputs.Box = _inputs.Box with { Answering = true, Serving = true };
        _agent.Service.SleepReply = new SleepReply { Accepted = false, Refusal = SleepRefusal.GpuInUse, Message = "another process uses the GPU: pid 4242 with 3500 MiB on GPU 0" };
        await loop.RunOnceAsync(TestContext.Current.CancellationToken);
        _clock.Advance(TimeSpan.FromMinutes(15));

        await loop.RunOnceAsync(TestContext.Current.CancellationToken);
        await RunUntilAsync(loop, r => r.Boxes.Single().Sleep.StartsWith("the agent refused", StringComparison.Ordinal));
        _clock.Advance(TimeSpan.FromMinutes(4));
        await loop.RunOnceAsync(TestContext.Current.CancellationToken);
        Assert.Single(_agent.Service.SleepRequests);
        Assert.Equal("the agent refused to sleep: another process uses the GPU: pid 4242 with 3500 MiB on GPU 0", loop.Report.Boxes.Single().Sleep);

        _clock.Advance(TimeSpan.FromMinutes(1));
        await loop.RunOnceAsync(TestContext.Current.CancellationToken);
        Assert.StartsWith("asking the agent to sleep", loop.Report.Boxes.Single().Sleep, StringComparison.Ordinal);
        await RunUntilAsync(loop, r => r.Boxes.Single().Sleep.StartsWith("the agent refused", StringComparison.Ordinal));
        Assert.Equal(2, _agent.Service.SleepRequests.Count);
    }

    [Fact]
    public async Task A_sleep_request_still_unanswered_when_work_arrives_is_withdrawn()
    {
        // An agent that takes the connection and never answers: the request stays on its way.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var loop = Loop();
        _inputs.Box = _inputs.Box with { Agent = new Uri($"http://127.0.0.1:{((IPEndPoint)silent.LocalEndpoint).Port}"), Answering = true, Serving = true };
        await loop.RunOnceAsync(TestContext.Current.CancellationToken);
        _clock.Advance(TimeSpan.FromMinutes(15));
        await loop.RunOnceAsync(TestContext.Current.CancellationToken);
        Assert.StartsWith("asking the agent to sleep", loop.Report.Boxes.Single().Sleep, StringComparison.Ordinal);

        _inputs.HeldJobs = 1;
        await RunUntilAsync(loop, r => !r.Boxes.Single().Sleep.StartsWith("asking", StringComparison.Ordinal));

        Assert.Equal("1 request(s) in flight or held", loop.Report.Boxes.Single().Sleep);
        Assert.Contains(loop.Report.Events, e => e.Text == "gpu-box: the agent refused to sleep: withdrawn: work arrived or the box went away while asking");
    }

    [Fact]
    public async Task A_wrong_agent_token_is_a_refusal_with_the_reason()
    {
        var loop = Loop();
        _inputs.Box = _inputs.Box with { Answering = true, Serving = true, Token = "wrong" };
        await loop.RunOnceAsync(TestContext.Current.CancellationToken);
        _clock.Advance(TimeSpan.FromMinutes(15));

        await loop.RunOnceAsync(TestContext.Current.CancellationToken);
        await RunUntilAsync(loop, r => !r.Boxes.Single().Sleep.StartsWith("asking", StringComparison.Ordinal));

        Assert.Equal("the agent refused to sleep: Unauthenticated: Sleep needs the agent's token: authorization: Bearer <token>", loop.Report.Boxes.Single().Sleep);
    }

    [Fact]
    public async Task Without_an_api_key_held_jobs_still_wake_the_box_and_the_rest_says_it_is_off()
    {
        var loop = Loop(apiKey: null);
        _inputs.HeldJobs = 3;

        await loop.RunOnceAsync(TestContext.Current.CancellationToken);
        _clock.Advance(TimeSpan.FromMinutes(1));
        _signals.JobLost(ImmichQueues.Ocr);
        await loop.RunOnceAsync(TestContext.Current.CancellationToken);

        Assert.Equal(2, PacketsReceived());
        Assert.False(loop.Report.ImmichEnabled);
        Assert.Equal(ImmichOptions.DisabledReason, loop.Report.Immich);
        Assert.Empty(_immich.Calls);
        Assert.Equal(1, loop.Report.LostSinceMissing[ImmichQueues.Ocr].Count);
    }

    [Fact]
    public async Task An_immich_that_refuses_the_key_is_reported_and_nothing_is_paused()
    {
        var loop = Loop(apiKey: "revoked");
        _inputs.HeldJobs = 1;

        await loop.RunOnceAsync(TestContext.Current.CancellationToken);
        _clock.Advance(TimeSpan.FromHours(1));
        await loop.RunOnceAsync(TestContext.Current.CancellationToken);

        Assert.Equal("Immich API GET /api/queues: 401 Unauthorized: the API key is not accepted (check Shim__Immich__ApiKey)", loop.Report.Immich);
        Assert.All(ImmichQueues.MachineLearning, q => Assert.False(_immich.IsPaused(q)));
        Assert.All(_immich.Calls, c => Assert.Equal(("GET", "/api/queues"), (c.Method, c.Path)));
    }

    [Fact]
    public async Task A_backlog_at_the_threshold_wakes_the_box_and_the_loop_gives_up_when_it_never_answers()
    {
        var loop = Loop(power: o => (o.BacklogThreshold, o.WakeInterval, o.WakeGiveUpAfter) = (20, TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(3)));
        _immich.SetStatistics("faceDetection", waiting: 12);
        _immich.SetStatistics("ocr", active: 1, waiting: 7);

        for (var minute = 0; minute <= 4; minute++)
        {
            await loop.RunOnceAsync(TestContext.Current.CancellationToken);
            _clock.Advance(TimeSpan.FromMinutes(1));
        }

        Assert.Equal(3, PacketsReceived());
        var box = loop.Report.Boxes.Single();
        Assert.Equal(WakeState.GaveUp, box.Wake!.State);
        Assert.StartsWith("gave up waking: no answer from the agent 3 min after the first magic packet", PowerLoop.Describe(box.Wake), StringComparison.Ordinal);
        Assert.Equal(20, loop.Report.Backlog);
    }

    [Theory]
    [InlineData("3.2.2")]
    [InlineData("1.135.3")]
    public async Task An_outage_past_the_hold_limit_pauses_the_ml_queues_and_serving_resumes_them_with_the_api_the_version_has(string version)
    {
        // Immich 3.2.2 speaks the queues API; 1.135.3 has only the jobs API and no ocr queue.
        var release = version == "3.2.2" ? ImmichRelease.V3_2_2 : ImmichRelease.V1_135_3;
        await _immich.DisposeAsync();
        _immich = await ImmichApiStandIn.StartAsync(cancellationToken: TestContext.Current.CancellationToken, release: release);
        var loop = Loop();
        string[] queues = [.. ImmichQueues.MachineLearning.Where(release.QueueNames.Contains)];

        await loop.RunOnceAsync(TestContext.Current.CancellationToken);
        _clock.Advance(HoldLimit);
        await loop.RunOnceAsync(TestContext.Current.CancellationToken);
        Assert.Null(loop.Report.Immich);
        Assert.All(queues, q => Assert.True(_immich.IsPaused(q), q));
        Assert.Equal(queues, loop.Report.PausedByShim);

        _inputs.Box = _inputs.Box with { Answering = true, Serving = true };
        await loop.RunOnceAsync(TestContext.Current.CancellationToken);
        Assert.All(queues, q => Assert.False(_immich.IsPaused(q), q));
        Assert.Empty(loop.Report.PausedByShim);

        var api = release.QueuesApi ? "/api/queues" : "/api/jobs";
        Assert.Equal(1, _immich.VersionAsks);
        Assert.All(_immich.Calls.Where(c => c.Method == "GET"), c => Assert.Equal(api, c.Path));
        Assert.Equal([.. queues.Select(q => $"{api}/{q}"), .. queues.Select(q => $"{api}/{q}")], _immich.Calls.Where(c => c.Method == "PUT").Select(c => c.Path));
        Assert.Equal(
            release.QueuesApi
                ? [.. queues.Select(_ => """{"isPaused":true}"""), .. queues.Select(_ => """{"isPaused":false}""")]
                : [.. queues.Select(_ => """{"command":"pause","force":false}"""), .. queues.Select(_ => """{"command":"resume","force":false}""")],
            _immich.Calls.Where(c => c.Method == "PUT").Select(c => c.Body!.ToJsonString()));
    }

    [Fact]
    public async Task A_box_whose_agent_is_away_while_its_ml_service_answers_is_neither_woken_nor_paused_for_nor_asked_to_sleep()
    {
        var loop = Loop(power: o => o.BacklogThreshold = 20);
        // Work waits in Immich (a box counted asleep would be woken), and the box is idle with nothing in flight.
        _immich.SetStatistics("smartSearch", waiting: 60);
        _inputs.Box = _inputs.Box with { Answering = true, Serving = true, AgentAnswering = false };
        _inputs.LastWorkAt = _clock.GetUtcNow();

        await loop.RunOnceAsync(TestContext.Current.CancellationToken);
        _clock.Advance(HoldLimit + TimeSpan.FromMinutes(15));
        await loop.RunOnceAsync(TestContext.Current.CancellationToken);
        _immich.SetStatistics("smartSearch", waiting: 0);
        _clock.Advance(TimeSpan.FromMinutes(15));
        await loop.RunOnceAsync(TestContext.Current.CancellationToken);

        Assert.Equal(0, PacketsReceived());
        Assert.Equal("the box is awake", PowerLoop.Describe(loop.Report.Boxes.Single().Wake!));
        Assert.Empty(loop.Report.PausedByShim);
        Assert.DoesNotContain(_immich.Calls, c => c.Method == "PUT");
        Assert.Empty(_agent.Service.SleepRequests);
        Assert.Equal("its agent does not answer (its ML service does): no one to ask to sleep", loop.Report.Boxes.Single().Sleep);
    }

    private PowerLoop Loop(string? apiKey = "test-api-key", Action<PowerOptions>? power = null)
    {
        var options = new PowerOptions();
        power?.Invoke(options);
        var immich = new ImmichApiClient(_http, Options.Create(new ImmichOptions { Url = _immich.Url.ToString(), ApiKey = apiKey == "test-api-key" ? _immich.ApiKey : apiKey }),
            NullLogger<ImmichApiClient>.Instance);
        var port = ((IPEndPoint)_wakeListener.Client.LocalEndPoint!).Port;
        var wake = new WakeOnLanOptions { Upstreams = [new UpstreamWakeOptions { Wake = new WakeOptions { Mac = "1c:1b:0d:9a:4e:f2", Address = "127.0.0.1", Port = port } }] };
        return new PowerLoop(_inputs, _signals, immich, new WakeOnLanSender(_clock, NullLogger<WakeOnLanSender>.Instance), _agents,
            new QueuePausePolicy(HoldLimit, _clock), new MissingPolicy(), Options.Create(options), Options.Create(wake), _clock, NullLogger<PowerLoop>.Instance);
    }

    /// <summary>Turns the loop (the fake clock standing still) until the report shows what the Sleep call's answer did.</summary>
    private static async Task RunUntilAsync(PowerLoop loop, Func<PowerReport, bool> condition)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            await loop.RunOnceAsync(TestContext.Current.CancellationToken);
            if (condition(loop.Report))
            {
                return;
            }

            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"the loop never got there; last word: {loop.Report.Boxes.Single().Sleep}");
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
    }

    /// <summary>Magic packets that arrived since the last call; each checked to be one for the configured MAC.</summary>
    private int PacketsReceived()
    {
        var expected = MagicPacket.For(MacAddress.TryParse("1c:1b:0d:9a:4e:f2", out var mac) ? mac : default);
        var count = 0;
        while (_wakeListener.Available > 0)
        {
            IPEndPoint? from = null;
            Assert.Equal(expected, _wakeListener.Receive(ref from));
            count++;
        }

        return count;
    }

    private sealed class Inputs : IPowerInputs
    {
        public BoxState Box { get; set; } = null!;

        public IReadOnlyList<BoxState> Boxes => [Box];

        public int HeldJobs { get; set; }

        public DateTimeOffset? LastWorkAt { get; set; }
    }
}
