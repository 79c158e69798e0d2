using GpuSplit.Agent.Power;
using GpuSplit.Protos.V1;
using GpuSplit.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace GpuSplit.Agent.Tests.Power;

/// <summary>The order that lets the shim tell a planned sleep from a failure: report first, then run the real command.</summary>
public sealed class SleepCoordinatorTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(20);
    private static readonly SleepCheck IdleCard = new(null, [new GpuUse(0, 0, [new GpuProcessUse(1200, 1 << 30, IsWorker: true, "immich_machine_learning")])], false);
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("gpusplit-sleep-");
    private readonly FakeTimeProvider _clock = new();
    private readonly Sink _status = new();

    public void Dispose() => _folder.Delete(recursive: true);

    [Fact]
    public async Task Going_to_sleep_is_reported_before_the_command_runs_and_cleared_after_it()
    {
        var marker = Path.Combine(_folder.FullName, "suspended");
        var release = Path.Combine(_folder.FullName, "release");
        // Leaves the marker, then waits (bounded) for the test, so the test sees the state while the command runs.
        var script = Script($"touch '{marker}'\ni=0\nwhile [ ! -f '{release}' ] && [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done");
        using var coordinator = Coordinator(new SleepOptions { Command = script, Delay = TimeSpan.FromSeconds(2), ClearAfter = TimeSpan.FromSeconds(30) });

        var pending = coordinator.RequestAsync("no ML work for 15 min", IdleCard, TestContext.Current.CancellationToken);

        Assert.False(pending.IsCompleted);
        Assert.Equal(new PowerView(true, "no ML work for 15 min", _clock.GetUtcNow(), null), _status.Current);
        Assert.False(File.Exists(marker));

        _clock.Advance(TimeSpan.FromSeconds(2));
        var reply = await pending.WaitAsync(Bound, TestContext.Current.CancellationToken);
        Assert.True(reply.Accepted);
        Assert.Equal($"going to sleep now: {script}", reply.Message);
        await WaitForAsync(() => File.Exists(marker), "the sleep command's marker");
        Assert.True(_status.Current.GoingToSleep);
        Assert.True((await coordinator.RequestAsync("again", IdleCard, TestContext.Current.CancellationToken)).Accepted);

        await File.WriteAllTextAsync(release, "", TestContext.Current.CancellationToken);
        // The clear-after wait starts when the command has finished; until then advancing the clock moves nothing.
        await WaitForAsync(() =>
        {
            _clock.Advance(TimeSpan.FromSeconds(30));
            return coordinator.Running.IsCompleted;
        }, "the flag to clear after the command");

        Assert.Equal(PowerView.Awake, _status.Current);
        Assert.Equal([true, false], _status.History.Select(v => v.GoingToSleep));
    }

    [Fact]
    public async Task A_failing_command_is_reported_and_the_box_counts_as_awake()
    {
        var script = Script("echo 'Failed to suspend system via logind: Access denied' >&2\nexit 1");
        using var coordinator = Coordinator(new SleepOptions { Command = script, Delay = TimeSpan.FromSeconds(1) });

        var pending = coordinator.RequestAsync("idle", IdleCard, TestContext.Current.CancellationToken);
        _clock.Advance(TimeSpan.FromSeconds(1));
        await pending.WaitAsync(Bound, TestContext.Current.CancellationToken);
        await coordinator.Running.WaitAsync(Bound, TestContext.Current.CancellationToken);

        Assert.False(_status.Current.GoingToSleep);
        Assert.Equal($"{script}: exit code 1: Failed to suspend system via logind: Access denied", _status.Current.CommandError);
    }

    [Fact]
    public async Task A_caller_that_gives_up_during_the_delay_leaves_the_box_awake()
    {
        // A Sleep delayed by a dead link arrives with its cancellation right behind it.
        var marker = Path.Combine(_folder.FullName, "suspended");
        using var coordinator = Coordinator(new SleepOptions { Command = Script($"touch '{marker}'"), Delay = TimeSpan.FromSeconds(2) });
        using var caller = new CancellationTokenSource();

        var pending = coordinator.RequestAsync("idle", IdleCard, caller.Token);
        Assert.True(_status.Current.GoingToSleep);
        await caller.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending);
        _clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(PowerView.Awake, _status.Current);
        Assert.True(coordinator.Running.IsCompleted);
        Assert.False(File.Exists(marker));
    }

    [Fact]
    public async Task A_refusal_runs_nothing_and_reports_nothing()
    {
        var marker = Path.Combine(_folder.FullName, "suspended");
        using var coordinator = Coordinator(new SleepOptions { Command = Script($"touch '{marker}'") });
        var game = IdleCard with { Gpus = [new GpuUse(0, 97, [new GpuProcessUse(4242, 3500L << 20, IsWorker: false, null)])] };

        var reply = await coordinator.RequestAsync("idle", game, TestContext.Current.CancellationToken);

        Assert.Equal((false, SleepRefusal.GpuInUse, "another process uses the GPU: pid 4242 with 3500 MiB on GPU 0"), (reply.Accepted, reply.Refusal, reply.Message));
        Assert.Empty(_status.History);
        Assert.True(coordinator.Running.IsCompleted);
        Assert.False(File.Exists(marker));
    }

    private SleepCoordinator Coordinator(SleepOptions options) =>
        new(new SleepRefusalPolicy(Options.Create(options)), new SleepCommand(Options.Create(options), NullLogger<SleepCommand>.Instance), _status,
            Options.Create(options), _clock, NullLogger<SleepCoordinator>.Instance);

    private string Script(string body)
    {
        RequiredPart.Require(!OperatingSystem.IsWindows() && File.Exists("/bin/sh"), "/bin/sh (runs the test's sleep script)");
        var path = Path.Combine(_folder.FullName, $"sleep-{Guid.NewGuid():N}.sh");
        File.WriteAllText(path, "#!/bin/sh\n" + body + "\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        return path;
    }

    private static async Task WaitForAsync(Func<bool> condition, string what)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!condition())
        {
            Assert.True(clock.Elapsed < Bound, $"timed out waiting for {what}");
            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
    }

    private sealed class Sink : IPowerStatusSink
    {
        public List<PowerView> History { get; } = [];

        public PowerView Current { get; private set; } = PowerView.Awake;

        public void Publish(PowerView view)
        {
            History.Add(view);
            Current = view;
        }
    }
}
