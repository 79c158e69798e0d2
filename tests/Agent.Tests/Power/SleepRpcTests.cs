using GpuSplit.Protos.V1;
using GpuSplit.Testing;
using GpuSplit.Testing.Docker;
using GpuSplit.Testing.Grpc;
using GpuSplit.Testing.MlStandIn;
using GpuSplit.Testing.Network;
using Grpc.Core;
using Grpc.Health.V1;

namespace GpuSplit.Agent.Tests.Power;

/// <summary>
/// <c>gpusplit.v1.Agent/Sleep</c> on the real agent: a real worker container, the fake NVML library reporting its
/// process (and a game's), and a sleep command that is a script leaving a marker where a real box would suspend.
/// </summary>
public sealed class SleepRpcTests : IDisposable
{
    private const ulong Mib = 1024 * 1024;
    private const string Token = "sl33p-token";
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);
    private static readonly Metadata WithToken = new() { { "authorization", $"Bearer {Token}" } };
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("gpusplit-sleep-rpc-");

    public void Dispose() => _folder.Delete(recursive: true);

    [Fact]
    public async Task A_game_blocks_the_sleep_and_once_it_is_gone_the_box_reports_going_to_sleep_before_the_command_runs()
    {
        var engine = await DockerEngine.MachineAsync();
        await using var worker = await MlStandInContainer.StartAsync(engine);
        var workerPid = (uint)(await worker.StateAsync()).Pid;
        var workerOnCard = new FakeGpuProcess(workerPid, 1500 * Mib);
        await using var nvml = await FakeNvml.StartAsync(FakeNvmlState.OneGtx1060(workerOnCard, new FakeGpuProcess(4242, 3500 * Mib)),
            TestContext.Current.CancellationToken);
        var marker = Path.Combine(_folder.FullName, "suspended");
        // The box stays "asleep" (the command runs, so the status keeps saying going to sleep) until the test wakes it:
        // the independent client below is asked inside that state however slowly it starts, not inside a window.
        var wake = Path.Combine(_folder.FullName, "wake");
        await using var agent = await AgentUnderTest.StartAsync(worker, Settings(marker, FakeNvml.LibraryPath, wake));
        await agent.WaitForAsync(s => s.Serving && s.Gpu.Gpus.Count == 1 && s.Gpu.Gpus[0].Processes.Count == 2 && s.Gpu.Gpus[0].Processes.Any(p => p.IsWorker),
            Bound, "SERVING with both processes on the card, the worker's recognized");

        var refused = await agent.Client.SleepAsync(new SleepRequest { Reason = "idle" }, WithToken, cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal((false, SleepRefusal.GpuInUse, "another process uses the GPU: pid 4242 with 3500 MiB on GPU 0"), (refused.Accepted, refused.Refusal, refused.Message));
        Assert.False((await agent.StatusAsync()).Power.GoingToSleep);

        // The game quits.
        nvml.Update(FakeNvmlState.OneGtx1060(workerOnCard));
        await agent.WaitForAsync(s => s.Gpu.Gpus[0].Processes.Count == 1 && s.Gpu.Gpus[0].Processes[0].IsWorker, Bound, "the game gone from the card");
        using var watch = agent.Client.WatchStatus(new WatchStatusRequest(), cancellationToken: TestContext.Current.CancellationToken);
        Assert.True(await watch.ResponseStream.MoveNext(TestContext.Current.CancellationToken));

        var accepted = await agent.Client.SleepAsync(new SleepRequest { Reason = "no ML work for 15 min" }, WithToken,
            cancellationToken: TestContext.Current.CancellationToken);
        AgentStatus announced;
        do
        {
            Assert.True(await watch.ResponseStream.MoveNext(TestContext.Current.CancellationToken));
            announced = watch.ResponseStream.Current;
        }
        while (!announced.Power.GoingToSleep);

        Assert.True(accepted.Accepted, accepted.Message);
        Assert.False(announced.Serving);
        Assert.Equal("going to sleep on purpose: no ML work for 15 min", announced.NotServingReason);
        Assert.Equal("no ML work for 15 min", announced.Power.Reason);
        if (await PythonGrpcHealth.AvailableAsync())
        {
            Assert.Equal(PythonGrpcHealth.NotServing, await PythonGrpcHealth.CheckAsync(agent.Target));
        }

        // The script wrote the time it ran: not before the moment the status says it announced the sleep.
        var ran = await WaitForFileAsync(marker);
        var ranAt = DateTimeOffset.FromUnixTimeMilliseconds(long.Parse(ran.Split('|')[0], System.Globalization.CultureInfo.InvariantCulture));
        var since = announced.Power.Since.ToDateTimeOffset();
        Assert.True(ranAt >= since.AddTicks(-(since.Ticks % TimeSpan.TicksPerMillisecond)), $"the command ran at {ranAt:O}, the status said going to sleep at {since:O}");
        Assert.Equal("suspend", ran.Split('|')[1]);

        // A real box would be asleep now; here it wakes when told, and the flag clears.
        await File.WriteAllTextAsync(wake, "", TestContext.Current.CancellationToken);
        var awake = await agent.WaitForAsync(s => !s.Power.GoingToSleep && s.Serving, Bound, "awake and serving again after the command");
        Assert.Equal("", awake.Power.CommandError);
    }

    [Fact]
    public async Task A_health_watch_opened_while_a_sleep_is_announced_follows_the_box_back_to_serving_when_the_caller_gives_up()
    {
        var ct = TestContext.Current.CancellationToken;
        var engine = await DockerEngine.MachineAsync();
        await using var worker = await MlStandInContainer.StartAsync(engine);
        var settings = Settings(Path.Combine(_folder.FullName, "suspended"), nvmlLibrary: null);
        settings["Agent:Sleep:AllowWithoutGpuReadings"] = "true";
        settings["Agent:Sleep:Delay"] = "00:00:05";
        // Nothing periodic may put the health status right here: only the changes themselves.
        settings["Agent:PollInterval"] = "00:10:00";
        await using var agent = await AgentUnderTest.StartAsync(worker, settings);
        await agent.WaitForAsync(s => s.Serving, Bound, "SERVING");

        // A Sleep is announced; its caller is still deciding (as a request delayed by a dead link is).
        using var caller = CancellationTokenSource.CreateLinkedTokenSource(ct);
        var sleep = agent.Client.SleepAsync(new SleepRequest { Reason = "idle" }, WithToken, cancellationToken: caller.Token).ResponseAsync;
        await agent.WaitForAsync(s => s.Power.GoingToSleep, Bound, "going to sleep");
        using var watching = CancellationTokenSource.CreateLinkedTokenSource(ct);
        using var watch = agent.Health.Watch(new HealthCheckRequest(), cancellationToken: watching.Token);
        Assert.True(await watch.ResponseStream.MoveNext(watching.Token));
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.NotServing, watch.ResponseStream.Current.Status);

        // The caller gives up: the box stays awake, and the open Watch must hear so.
        await caller.CancelAsync();
        var gaveUp = await Assert.ThrowsAsync<RpcException>(() => sleep);
        Assert.Equal(StatusCode.Cancelled, gaveUp.StatusCode);
        await agent.WaitForAsync(s => !s.Power.GoingToSleep && s.Serving, Bound, "awake and serving again");
        watching.CancelAfter(Bound);
        Assert.True(await watch.ResponseStream.MoveNext(watching.Token));
        Assert.Equal(HealthCheckResponse.Types.ServingStatus.Serving, watch.ResponseStream.Current.Status);
        Assert.False(File.Exists(Path.Combine(_folder.FullName, "suspended")));
    }

    [Fact]
    public async Task Sleep_needs_the_token_and_a_configured_command()
    {
        var marker = Path.Combine(_folder.FullName, "suspended");
        await using var agent = await AgentUnderTest.StartAsync(TestContainers.UniqueName("absent"), new Uri($"http://127.0.0.1:{FreePort.Next()}"),
            Settings(marker, nvmlLibrary: null));

        var noToken = await Assert.ThrowsAsync<RpcException>(async () => await agent.Client.SleepAsync(new SleepRequest(),
            cancellationToken: TestContext.Current.CancellationToken));
        var unreadable = await agent.Client.SleepAsync(new SleepRequest(), WithToken, cancellationToken: TestContext.Current.CancellationToken);

        Assert.Equal(StatusCode.Unauthenticated, noToken.StatusCode);
        Assert.Equal(SleepRefusal.GpuUnreadable, unreadable.Refusal);
        Assert.False(File.Exists(marker));

        await using var withoutCommand = await AgentUnderTest.StartAsync(TestContainers.UniqueName("absent"), new Uri($"http://127.0.0.1:{FreePort.Next()}"),
            new Dictionary<string, string> { ["Agent:Token"] = Token });
        var notConfigured = await withoutCommand.Client.SleepAsync(new SleepRequest(), WithToken, cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal((false, SleepRefusal.NotConfigured), (notConfigured.Accepted, notConfigured.Refusal));
    }

    /// <param name="wake">When set, the sleep command returns only once this file exists: the box is "asleep" until the test wakes it.</param>
    private Dictionary<string, string> Settings(string marker, string? nvmlLibrary, string? wake = null)
    {
        RequiredPart.Require(!OperatingSystem.IsWindows() && File.Exists("/bin/sh"), "/bin/sh (runs the test's sleep script)");
        var script = Path.Combine(_folder.FullName, "sleep.sh");
        // Milliseconds since the epoch, then the arguments: when and how the agent ran it. Then, if given a wake file,
        // it waits for that file to appear.
        File.WriteAllText(script, "#!/bin/sh\nprintf '%s|%s' \"$(date +%s%3N)\" \"$2\" > \"$1.tmp\" && mv \"$1.tmp\" \"$1\"\n"
            + "if [ -n \"$3\" ]; then while [ ! -e \"$3\" ]; do sleep 0.05; done; fi\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        var settings = new Dictionary<string, string>
        {
            ["Agent:Token"] = Token,
            ["Agent:Sleep:Command"] = script,
            ["Agent:Sleep:Arguments:0"] = marker,
            ["Agent:Sleep:Arguments:1"] = "suspend",
            ["Agent:Sleep:Delay"] = "00:00:01",
            ["Agent:Sleep:ClearAfter"] = "00:00:01",
        };
        if (wake is not null)
        {
            settings["Agent:Sleep:Arguments:2"] = wake;
            // The command lasts as long as the test keeps the box asleep; it must not be stopped as hung meanwhile.
            settings["Agent:Sleep:Timeout"] = "00:05:00";
        }

        if (nvmlLibrary is not null)
        {
            settings["Agent:Gpu:Enabled"] = "true";
            settings["Agent:Gpu:NvmlLibrary"] = nvmlLibrary;
        }

        return settings;
    }

    private static async Task<string> WaitForFileAsync(string path)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!File.Exists(path))
        {
            Assert.True(clock.Elapsed < Bound, $"the sleep command never left {path}");
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }

        return await File.ReadAllTextAsync(path, TestContext.Current.CancellationToken);
    }
}
