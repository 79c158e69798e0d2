using GpuSplit.Agent.Hosting;
using GpuSplit.Agent.Watchdog;
using Microsoft.Extensions.Options;

namespace GpuSplit.Agent.Tests;

/// <summary>The crash-loop rule by itself: the limit, the doubling, the cap, the reset.</summary>
public sealed class CrashLoopGuardTests
{
    private static readonly DateTimeOffset T0 = new(2025, 11, 25, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Five_restarts_pass_the_sixth_waits_and_each_failed_try_doubles_the_wait_up_to_five_minutes()
    {
        var guard = new CrashLoopGuard(Options.Create(new AgentOptions()));
        var now = T0;
        for (var i = 0; i < 5; i++)
        {
            Assert.Null(guard.Request(now));
        }

        var waits = new List<TimeSpan>();
        for (var i = 0; i < 8; i++)
        {
            var until = guard.Request(now);
            Assert.NotNull(until);
            Assert.Equal(until, guard.Request(now + (until.Value - now) / 2));
            waits.Add(until.Value - now);
            now = until.Value;
            Assert.Null(guard.Request(now));
        }

        Assert.Equal([5, 10, 20, 40, 80, 160, 300, 300], waits.Select(w => w.TotalSeconds));
    }

    [Fact]
    public void Restarts_older_than_the_window_no_longer_count_and_the_back_off_starts_over()
    {
        var guard = new CrashLoopGuard(Options.Create(new AgentOptions()));
        for (var i = 0; i < 5; i++)
        {
            Assert.Null(guard.Request(T0));
        }

        var first = guard.Request(T0)!.Value;
        Assert.Null(guard.Request(first));

        var later = T0 + TimeSpan.FromMinutes(10) + TimeSpan.FromSeconds(2);
        Assert.Null(guard.Request(later));
        Assert.Equal(2, guard.RestartsInWindow);
        for (var i = 0; i < 3; i++)
        {
            Assert.Null(guard.Request(later));
        }

        Assert.Equal(TimeSpan.FromSeconds(5), guard.Request(later) - later);
    }

    [Fact]
    public void An_operator_reset_allows_a_restart_at_once()
    {
        var guard = new CrashLoopGuard(Options.Create(new AgentOptions()));
        for (var i = 0; i < 5; i++)
        {
            guard.Request(T0);
        }

        Assert.NotNull(guard.Request(T0));
        guard.Reset();
        Assert.Null(guard.Request(T0));
        Assert.Null(guard.BackoffUntil);
    }
}
