using GpuSplit.Shim.Power;

namespace GpuSplit.Shim.Tests.Power;

public sealed class QueuePausePolicyTests
{
    private static readonly TimeSpan HoldLimit = TimeSpan.FromSeconds(240);

    [Fact]
    public void The_ml_queues_are_paused_once_the_box_is_away_past_the_hold_limit()
    {
        var clock = PolicyFixtures.Clock();
        var policy = new QueuePausePolicy(HoldLimit, clock);
        var away = new QueueInput(Serving: false, AwaySince: clock.GetUtcNow(), Backlog: PolicyFixtures.Backlog(smartSearch: 3));

        clock.Advance(HoldLimit - TimeSpan.FromSeconds(1));
        var within = policy.Decide(away);
        clock.Advance(TimeSpan.FromSeconds(1));
        var past = policy.Decide(away);

        Assert.Equal(QueueAction.None, within.Action);
        Assert.Equal("the GPU box is away for 239 s, within the hold limit of 240 s", within.Reason);
        Assert.Equal(QueueAction.Pause, past.Action);
        Assert.Equal(["smartSearch", "faceDetection", "ocr"], past.Queues);

        policy.Confirm(QueueAction.Pause, past.Queues);
        Assert.Equal(QueueAction.None, policy.Decide(away with { Backlog = PolicyFixtures.Backlog(paused: ["smartSearch", "faceDetection", "ocr"]) }).Action);
    }

    [Fact]
    public void Serving_again_resumes_only_what_the_shim_paused()
    {
        var clock = PolicyFixtures.Clock();
        var policy = new QueuePausePolicy(HoldLimit, clock);
        var awaySince = clock.GetUtcNow();
        clock.Advance(TimeSpan.FromMinutes(10));

        // An admin paused OCR before: the shim neither pauses nor resumes it.
        var pause = policy.Decide(new QueueInput(false, awaySince, PolicyFixtures.Backlog(paused: ["ocr"])));
        policy.Confirm(pause.Action, pause.Queues);
        var resume = policy.Decide(new QueueInput(true, null, PolicyFixtures.Backlog(paused: ["smartSearch", "faceDetection", "ocr"])));
        policy.Confirm(resume.Action, resume.Queues);

        Assert.Equal(["smartSearch", "faceDetection"], pause.Queues);
        Assert.Equal((QueueAction.Resume, "the GPU box is serving again"), (resume.Action, resume.Reason));
        Assert.Equal(["smartSearch", "faceDetection"], resume.Queues);
        Assert.Empty(policy.PausedByShim);
        Assert.Equal(QueueAction.None, policy.Decide(new QueueInput(true, null, null)).Action);
    }

    [Fact]
    public void A_pause_that_went_through_only_partly_is_completed_next_time()
    {
        var clock = PolicyFixtures.Clock();
        var policy = new QueuePausePolicy(HoldLimit, clock);
        var input = new QueueInput(false, clock.GetUtcNow(), PolicyFixtures.Backlog());
        clock.Advance(HoldLimit);

        policy.Confirm(QueueAction.Pause, ["smartSearch", "ocr"]);
        var rest = policy.Decide(input with { Backlog = PolicyFixtures.Backlog(paused: ["smartSearch", "ocr"]) });

        Assert.Equal(["faceDetection"], rest.Queues);
        Assert.Equal(["ocr", "smartSearch"], policy.PausedByShim.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Unreadable_queues_are_not_paused_blindly()
    {
        var clock = PolicyFixtures.Clock();
        var policy = new QueuePausePolicy(HoldLimit, clock);
        var since = clock.GetUtcNow();
        clock.Advance(TimeSpan.FromHours(1));

        var decision = policy.Decide(new QueueInput(false, since, null));

        Assert.Equal((QueueAction.None, "the GPU box is away past the hold limit, but Immich's queues cannot be read"), (decision.Action, decision.Reason));
    }
}
