using GpuSplit.Shim.Power;

namespace GpuSplit.Shim.Tests.Power;

public sealed class IdlePolicyTests
{
    private static readonly TimeSpan Idle = TimeSpan.FromMinutes(15);

    [Fact]
    public void Asks_to_sleep_after_the_idle_time_with_empty_queues()
    {
        var clock = PolicyFixtures.Clock();
        var policy = Policy(clock);
        var lastWork = clock.GetUtcNow();
        var input = new IdleInput(Serving: true, Busy: 0, LastWorkAt: lastWork, Backlog: PolicyFixtures.Backlog());

        policy.Decide(input);
        clock.Advance(Idle - TimeSpan.FromSeconds(1));
        var early = policy.Decide(input);
        clock.Advance(TimeSpan.FromSeconds(1));
        var due = policy.Decide(input);

        Assert.False(early.AskToSleep);
        Assert.Equal((true, "no ML work for 15 min and Immich's ML queues are empty"), (due.AskToSleep, due.Reason));
    }

    [Theory]
    [InlineData(1, 0L, true, "1 request(s) in flight or held")]
    [InlineData(0, 4L, true, "4 jobs in Immich's ML queues")]
    [InlineData(0, 0L, false, "Immich's ML queues cannot be read, so work may be waiting")]
    public void Work_anywhere_or_unknown_queues_keep_the_box_awake(int busy, long waiting, bool queuesKnown, string reason)
    {
        var clock = PolicyFixtures.Clock();
        var policy = Policy(clock);
        var input = new IdleInput(true, busy, null, queuesKnown ? PolicyFixtures.Backlog(faceDetection: waiting) : null);
        policy.Decide(input);
        clock.Advance(Idle * 2);

        var decision = policy.Decide(input);

        Assert.Equal((false, reason), (decision.AskToSleep, decision.Reason));
    }

    [Fact]
    public void A_box_just_woken_gets_the_full_idle_time()
    {
        var clock = PolicyFixtures.Clock();
        var policy = Policy(clock);
        var longAgo = clock.GetUtcNow();
        clock.Advance(TimeSpan.FromHours(2));

        policy.Decide(new IdleInput(false, 0, longAgo, PolicyFixtures.Backlog()));
        var justWoken = policy.Decide(new IdleInput(true, 0, longAgo, PolicyFixtures.Backlog()));
        clock.Advance(Idle);
        var later = policy.Decide(new IdleInput(true, 0, longAgo, PolicyFixtures.Backlog()));

        Assert.False(justWoken.AskToSleep);
        Assert.True(later.AskToSleep);
    }

    [Fact]
    public void A_refusal_is_retried_after_the_interval_and_an_acceptance_is_final_until_the_box_was_away()
    {
        var clock = PolicyFixtures.Clock();
        var policy = Policy(clock, retry: TimeSpan.FromMinutes(5));
        var input = new IdleInput(true, 0, null, PolicyFixtures.Backlog());
        policy.Decide(input);
        clock.Advance(Idle);

        Assert.True(policy.Decide(input).AskToSleep);
        policy.Answered(false, "another process uses the GPU: pid 4242 holds 3.5 GiB");
        clock.Advance(TimeSpan.FromMinutes(4));
        var refused = policy.Decide(input);
        clock.Advance(TimeSpan.FromMinutes(1));
        var retried = policy.Decide(input);
        policy.Answered(true, "going to sleep");
        clock.Advance(TimeSpan.FromHours(1));
        var accepted = policy.Decide(input);

        Assert.Equal((false, "the agent refused to sleep: another process uses the GPU: pid 4242 holds 3.5 GiB"), (refused.AskToSleep, refused.Reason));
        Assert.True(retried.AskToSleep);
        Assert.Equal((false, "asked to sleep: no ML work for 20 min and Immich's ML queues are empty"), (accepted.AskToSleep, accepted.Reason));

        policy.Decide(input with { Serving = false });
        policy.Decide(input);
        clock.Advance(Idle);
        Assert.True(policy.Decide(input).AskToSleep);
    }

    [Fact]
    public void Turned_off_it_never_asks()
    {
        var clock = PolicyFixtures.Clock();
        var policy = new IdlePolicy(PolicyFixtures.Options(o => o.SleepWhenIdle = false), clock);
        policy.Decide(new IdleInput(true, 0, null, PolicyFixtures.Backlog()));
        clock.Advance(TimeSpan.FromDays(1));

        Assert.False(policy.Decide(new IdleInput(true, 0, null, PolicyFixtures.Backlog())).AskToSleep);
    }

    private static IdlePolicy Policy(TimeProvider clock, TimeSpan? retry = null) =>
        new(PolicyFixtures.Options(o => (o.IdleTime, o.SleepRetryInterval) = (Idle, retry ?? TimeSpan.FromMinutes(5))), clock);
}
