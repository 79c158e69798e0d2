using System.Globalization;
using System.Net;
using System.Text.Json;
using GpuSplit.Planner.Service;
using GpuSplit.Testing;
using GpuSplit.Testing.Immich;
using GpuSplit.Testing.Processes;
using GpuSplit.Testing.Split;

namespace GpuSplit.EndToEnd.Tests.Power;

/// <summary>
/// The power loop closed, every part real (<see cref="SplitRig"/>): the GPU box a network namespace with its agent and
/// ML container, the shim on this machine, Immich's API on a real HTTP server. <see cref="BoxHardware"/> plays the
/// box's hardware: a magic packet arriving on its UDP port (loopback) powers the box on (the link comes up, the agent
/// boots and starts the ML container), and the marker left by the agent's sleep command powers it off. The test
/// drives neither; it only makes one boot slow. The fake NVML plays the card, with a game on it at first.
/// </summary>
public sealed class PowerLoopTests : IDisposable
{
    private const string Mac = "1c:1b:0d:9a:4e:f2";
    private const string Token = "e2e-agent-token";
    // Above the kernel's pid_max here (32768): no real process, so it maps to no container: a game.
    private const uint GamePid = 40_000;
    private const ulong Mib = 1024 * 1024;
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);
    private static readonly HttpClient Http = new(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(30) };
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("gpusplit-e2e-power-");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _folder.Delete(recursive: true);

    [Fact]
    public async Task Asleep_jobs_held_packet_wakes_the_box_queues_resume_missing_pressed_then_idle_sleep_that_a_game_blocked()
    {
        await using var hardware = BoxHardware.Listen(Mac);
        await using var immich = await ImmichApiStandIn.StartAsync(cancellationToken: Ct);
        using var nvml = FakeNvml.ForChildProcess(FakeNvmlState.OneGtx1060(new FakeGpuProcess(GamePid, 3500 * Mib)));
        var marker = Path.Combine(_folder.FullName, "suspended");
        await using var rig = await SplitRig.StartAsync(Options(hardware, immich, nvml, marker), Ct);
        hardware.Attach(rig, marker);
        var workerPid = (uint)(await rig.Ml.StateAsync()).Pid;
        nvml.Update(FakeNvmlState.OneGtx1060(new FakeGpuProcess(workerPid, 1500 * Mib), new FakeGpuProcess(GamePid, 3500 * Mib)));

        // Idle from the start, Immich's queues empty: the shim asks the box to sleep, and the game blocks it.
        var refused = await StatusUntilAsync(rig, s => Box(s).GetProperty("sleep").GetString()!.StartsWith("the agent refused to sleep", StringComparison.Ordinal),
            "the agent refusing to sleep");
        Assert.Contains($"another process uses the GPU: pid {GamePid} with 3500 MiB on GPU 0", Box(refused).GetProperty("sleep").GetString(), StringComparison.Ordinal);
        Assert.Empty(hardware.Sleeps);

        // The game quits: the shim's next request is accepted, the agent's command runs, and the box powers off.
        nvml.Update(FakeNvmlState.OneGtx1060(new FakeGpuProcess(workerPid, 1500 * Mib)));
        await WaitAsync(() => hardware.Sleeps.Count == 1, "the box switched off by its agent's sleep command");
        Assert.Equal("suspend", hardware.Sleeps[0]);
        await StatusUntilAsync(rig, s => s.GetProperty("upstreams")[0].GetProperty("state").GetString() == "asleep", "the box asleep");

        // Work arrives: Immich's backlog crosses the threshold and a job is held; the magic packet goes out at once,
        // and this boot is slow.
        hardware.HoldBoot();
        immich.SetStatistics("smartSearch", waiting: 12);
        var lostJob = SendJobAsync(rig);
        await WaitAsync(() => hardware.Packets.Count > 0, "a magic packet at the box's network card");
        Assert.Equal([0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, .. Enumerable.Repeat<byte[]>([0x1C, 0x1B, 0x0D, 0x9A, 0x4E, 0xF2], 16).SelectMany(b => b)],
            hardware.Packets[0]);

        // The held job runs out of time and is lost; the ML queues are paused; the next job waits.
        using (var lost = await lostJob)
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, lost.StatusCode);
        }

        await WaitAsync(() => ImmichQueuesPaused(immich, true), "Immich's ML queues paused");
        var heldJob = SendJobAsync(rig);
        await StatusUntilAsync(rig, s => s.GetProperty("hold").GetProperty("held").GetInt32() == 1, "a job held while the queues are paused");
        Assert.Equal(0, hardware.Boots);

        // The boot ends: the link comes up, the agent starts and starts the ML container; the held job goes through.
        hardware.FinishBoot();
        using (var done = await heldJob)
        {
            Assert.True(done.StatusCode == HttpStatusCode.OK, $"{(int)done.StatusCode} {await done.Content.ReadAsStringAsync(Ct)}\n{rig.Describe()}");
        }

        Assert.Equal(1, hardware.Boots);
        var bootedPid = (uint)(await rig.Ml.StateAsync()).Pid;
        Assert.NotEqual(workerPid, bootedPid);
        nvml.Update(FakeNvmlState.OneGtx1060(new FakeGpuProcess(bootedPid, 1500 * Mib)));
        await WaitAsync(() => ImmichQueuesPaused(immich, false), "Immich's ML queues resumed");
        Assert.Equal(0, immich.MissingPresses("smartSearch"));

        // Immich works off its backlog; then "Missing" is pressed once for the queue that lost the job.
        immich.SetStatistics("smartSearch", completed: 12);
        try
        {
            await WaitAsync(() => immich.MissingPresses("smartSearch") == 1, "Missing pressed for smartSearch");
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}\n{await rig.ShimStatusAsync(Ct)}\n{string.Join("\n", immich.Calls.TakeLast(10))}\n{rig.Describe()}", e);
        }

        // Idle again, no game now: the shim asks, the agent reports going to sleep, then runs its command.
        await WaitAsync(() => hardware.Sleeps.Count == 2, "the box switched off again by its agent's sleep command");
        var asleep = await StatusUntilAsync(rig, s => s.GetProperty("upstreams")[0].GetProperty("state").GetString() == "asleep", "the box asleep after its own suspend");

        var events = asleep.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("text").GetString()!).ToArray();
        Assert.Contains(events, e => e.StartsWith("gpu-box: magic packet sent to 1c:1b:0d:9a:4e:f2 via 127.0.0.1:", StringComparison.Ordinal));
        Assert.Contains(events, e => e.StartsWith("paused Immich's smartSearch, faceDetection, ocr queue(s)", StringComparison.Ordinal));
        Assert.Contains(events, e => e.StartsWith("resumed Immich's smartSearch, faceDetection, ocr queue(s)", StringComparison.Ordinal));
        Assert.Contains(events, e => e.StartsWith("pressed \"Missing\" for smartSearch: 1 job(s) lost", StringComparison.Ordinal));
        Assert.Contains(events, e => e.StartsWith("gpu-box: asked to sleep: no ML work for", StringComparison.Ordinal));
        Assert.Contains(events, e => e.StartsWith("gpu-box: online → going-to-sleep (going to sleep on purpose: no ML work for", StringComparison.Ordinal));
        Assert.Equal(1, immich.MissingPresses("smartSearch"));
        Assert.Equal(0, immich.MissingPresses("faceDetection") + immich.MissingPresses("ocr"));
    }

    private SplitRigOptions Options(BoxHardware hardware, ImmichApiStandIn immich, FakeNvml nvml, string marker)
    {
        RequiredPart.Require(!OperatingSystem.IsWindows() && File.Exists("/bin/sh"), "/bin/sh (runs the agent's sleep script)");
        var script = Path.Combine(_folder.FullName, "suspend.sh");
        File.WriteAllText(script, "#!/bin/sh\necho \"$2\" > \"$1.tmp\" && mv \"$1.tmp\" \"$1\"\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        var wakePort = hardware.Port.ToString(CultureInfo.InvariantCulture);
        return new SplitRigOptions
        {
            // Long enough for a booted box's agent and ML container to start while a job still waits.
            HoldLimit = TimeSpan.FromSeconds(12),
            ShimArguments =
            [
                $"--Shim:Upstreams:0:Token={Token}",
                $"--Shim:Upstreams:0:Wake:Mac={Mac}",
                // The helper listens on loopback: no broadcast leaves this machine.
                "--Shim:Upstreams:0:Wake:Address=127.0.0.1",
                $"--Shim:Upstreams:0:Wake:Port={wakePort}",
                $"--Shim:Immich:Url={immich.Url}",
                $"--Shim:Immich:ApiKey={immich.ApiKey}",
                "--Shim:Power:BacklogThreshold=10",
                "--Shim:Power:PollInterval=00:00:00.250",
                "--Shim:Power:IdleTime=00:00:03",
                "--Shim:Power:SleepRetryInterval=00:00:02",
                // A box whose link went down is noticed within about two seconds, and one that is back within one.
                "--Shim:AgentWatch:KeepAliveInterval=00:00:01",
                "--Shim:AgentWatch:KeepAliveTimeout=00:00:01",
                "--Shim:AgentWatch:ConnectTimeout=00:00:01",
                "--Shim:AgentWatch:ReconnectDelay=00:00:00.100",
                "--Shim:AgentWatch:ReconnectMaxDelay=00:00:00.500",
            ],
            AgentArguments =
            [
                $"--Agent:Token={Token}",
                "--Agent:Gpu:Enabled=true",
                $"--Agent:Gpu:NvmlLibrary={FakeNvml.LibraryPath}",
                $"--Agent:Sleep:Command={script}",
                $"--Agent:Sleep:Arguments:0={marker}",
                "--Agent:Sleep:Arguments:1=suspend",
                "--Agent:Sleep:Delay=00:00:01",
                "--Agent:Sleep:ClearAfter=00:01:00",
            ],
            AgentEnvironment = nvml.Environment,
        };
    }

    private static Task<HttpResponseMessage> SendJobAsync(SplitRig rig) =>
        Http.PostAsync(new Uri(rig.ShimUri, "predict"), ImmichPredictRequest.ForJob(JobKind.SmartSearch, PreviewJpeg.Default), Ct);

    private static bool ImmichQueuesPaused(ImmichApiStandIn immich, bool paused) =>
        new[] { "smartSearch", "faceDetection", "ocr" }.All(q => immich.IsPaused(q) == paused);

    private static JsonElement Box(JsonElement status) => status.GetProperty("power").GetProperty("boxes")[0];

    private static async Task<JsonElement> StatusUntilAsync(SplitRig rig, Func<JsonElement, bool> condition, string what)
    {
        try
        {
            return await Waiting.UntilAsync(() => rig.ShimStatusAsync(Ct), condition, Bound, what, TimeSpan.FromMilliseconds(100), Ct);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}\n{rig.Describe()}", e);
        }
    }

    private static async Task WaitAsync(Func<bool> condition, string what) =>
        await Waiting.UntilAsync(() => Task.FromResult(condition()), done => done, Bound, what, TimeSpan.FromMilliseconds(50), Ct);
}
