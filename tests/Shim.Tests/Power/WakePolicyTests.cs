using GpuSplit.Shim.Power;

namespace GpuSplit.Shim.Tests.Power;

public sealed class WakePolicyTests
{
    [Fact]
    public void A_held_job_wakes_the_box_at_once_and_packets_repeat_once_per_interval()
    {
        var clock = PolicyFixtures.Clock();
        var policy = new WakePolicy(PolicyFixtures.Options(o => o.WakeInterval = TimeSpan.FromMinutes(1)), clock);

        var first = policy.Decide(new WakeInput(AgentAnswering: false, HeldJobs: 1, Backlog: null));
        clock.Advance(TimeSpan.FromSeconds(59));
        var tooSoon = policy.Decide(new WakeInput(false, 3, null));
        clock.Advance(TimeSpan.FromSeconds(1));
        var again = policy.Decide(new WakeInput(false, 3, null));

        Assert.Equal((true, WakeState.Waking, PolicyFixtures.Start, "1 held job(s) waiting"), (first.Send, first.State, first.Since, first.Reason));
        Assert.False(tooSoon.Send);
        Assert.Equal(WakeState.Waking, tooSoon.State);
        Assert.True(again.Send);
        Assert.Equal(PolicyFixtures.Start, again.Since);
    }

    [Fact]
    public void A_backlog_wakes_the_box_from_the_threshold_on()
    {
        var policy = new WakePolicy(PolicyFixtures.Options(o => o.BacklogThreshold = 50), PolicyFixtures.Clock());

        var below = policy.Decide(new WakeInput(false, 0, 49));
        var at = policy.Decide(new WakeInput(false, 0, 50));

        Assert.Equal((false, WakeState.Idle), (below.Send, below.State));
        Assert.Equal((true, WakeState.Waking), (at.Send, at.State));
        Assert.Equal("50 jobs in Immich's ML queues (threshold 50)", at.Reason);
    }

    [Fact]
    public void Unknown_queues_and_no_held_jobs_wake_nothing()
    {
        var decision = new WakePolicy(PolicyFixtures.Options(), PolicyFixtures.Clock()).Decide(new WakeInput(false, 0, null));

        Assert.Equal((false, WakeState.Idle, "no work waiting"), (decision.Send, decision.State, decision.Reason));
    }

    [Fact]
    public void An_answering_agent_is_never_woken()
    {
        var decision = new WakePolicy(PolicyFixtures.Options(), PolicyFixtures.Clock()).Decide(new WakeInput(true, 10, 1000));

        Assert.Equal((false, WakeState.Idle, "the box is awake"), (decision.Send, decision.State, decision.Reason));
    }

    [Fact]
    public void Quiet_hours_across_midnight_in_local_time_hold_the_packet_back()
    {
        var clock = PolicyFixtures.Clock();
        // 12:00 UTC is 23:30 in a zone at +11:30: inside 23:00-07:00.
        clock.SetLocalTimeZone(TimeZoneInfo.CreateCustomTimeZone("plus-11:30", new TimeSpan(11, 30, 0), "plus-11:30", "plus-11:30"));
        var policy = new WakePolicy(PolicyFixtures.Options(o => o.QuietHours = new QuietHoursOptions { Start = new TimeOnly(23, 0), End = new TimeOnly(7, 0) }), clock);

        var night = policy.Decide(new WakeInput(false, 2, null));
        clock.Advance(TimeSpan.FromHours(7.5) - TimeSpan.FromMinutes(1));
        var lastQuietMinute = policy.Decide(new WakeInput(false, 2, null));
        clock.Advance(TimeSpan.FromMinutes(1));
        var morning = policy.Decide(new WakeInput(false, 2, null));

        Assert.Equal((false, WakeState.Quiet, "2 held job(s) waiting, but quiet hours until 07:00"), (night.Send, night.State, night.Reason));
        Assert.False(lastQuietMinute.Send);
        Assert.Equal((true, WakeState.Waking), (morning.Send, morning.State));
    }

    [Fact]
    public void Gives_up_with_a_reason_when_the_agent_never_appears_and_starts_over_once_it_does()
    {
        var clock = PolicyFixtures.Clock();
        var policy = new WakePolicy(PolicyFixtures.Options(o => (o.WakeInterval, o.WakeGiveUpAfter) = (TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(5))), clock);
        var packets = 0;
        WakeDecision last = null!;
        for (var minute = 0; minute <= 8; minute++)
        {
            last = policy.Decide(new WakeInput(false, 1, null));
            packets += last.Send ? 1 : 0;
            clock.Advance(TimeSpan.FromMinutes(1));
        }

        Assert.Equal(5, packets);
        Assert.Equal(WakeState.GaveUp, last.State);
        Assert.Equal(PolicyFixtures.Start.AddMinutes(5), last.Since);
        Assert.Equal(
            "gave up waking: no answer from the agent 5 min after the first magic packet; check Wake-on-LAN in the box's BIOS and network card, the MAC and the broadcast address",
            last.Reason);

        Assert.Equal(WakeState.Idle, policy.Decide(new WakeInput(true, 1, null)).State);
        var next = policy.Decide(new WakeInput(false, 1, null));
        Assert.Equal((true, WakeState.Waking), (next.Send, next.State));
    }

    [Fact]
    public void After_giving_up_another_round_starts_once_the_retry_time_has_passed()
    {
        var clock = PolicyFixtures.Clock();
        var policy = new WakePolicy(PolicyFixtures.Options(o => (o.WakeInterval, o.WakeGiveUpAfter, o.WakeRetryAfterGiveUp) =
            (TimeSpan.FromMinutes(1), TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(60))), clock);
        var backlog = new WakeInput(false, 0, 80);
        for (var minute = 0; minute <= 5; minute++)
        {
            policy.Decide(backlog);
            clock.Advance(TimeSpan.FromMinutes(1));
        }

        clock.Advance(TimeSpan.FromMinutes(58));
        var still = policy.Decide(backlog);
        clock.Advance(TimeSpan.FromMinutes(1));
        var again = policy.Decide(backlog);

        Assert.Equal((false, WakeState.GaveUp), (still.Send, still.State));
        Assert.Equal((true, WakeState.Waking), (again.Send, again.State));
        Assert.Equal(clock.GetUtcNow(), again.Since);
    }

    [Fact]
    public void Work_that_goes_away_ends_the_waking()
    {
        var clock = PolicyFixtures.Clock();
        var policy = new WakePolicy(PolicyFixtures.Options(), clock);

        Assert.True(policy.Decide(new WakeInput(false, 1, null)).Send);
        clock.Advance(TimeSpan.FromSeconds(10));
        var idle = policy.Decide(new WakeInput(false, 0, 0));
        clock.Advance(TimeSpan.FromSeconds(10));
        var again = policy.Decide(new WakeInput(false, 1, null));

        Assert.Equal(WakeState.Idle, idle.State);
        // A new episode: a packet at once, not after the rest of the old interval.
        Assert.True(again.Send);
        Assert.Equal(PolicyFixtures.Start.AddSeconds(20), again.Since);
    }
}
