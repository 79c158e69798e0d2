using GpuSplit.Shim.Power;

namespace GpuSplit.Shim.Tests.Power;

public sealed class MissingPolicyTests
{
    private static readonly DateTimeOffset T0 = PolicyFixtures.Start;

    [Fact]
    public void Missing_waits_for_serving_resumed_and_drained_then_fires_once_per_affected_queue()
    {
        var policy = new MissingPolicy();
        policy.RecordLoss("smartSearch", T0);
        policy.RecordLoss("smartSearch", T0.AddSeconds(5));
        policy.RecordLoss("ocr", T0.AddSeconds(6));

        var away = policy.Decide(new MissingInput(Serving: false, PausedByShim: [], PolicyFixtures.Backlog()));
        var stillPaused = policy.Decide(new MissingInput(true, ["smartSearch", "ocr"], PolicyFixtures.Backlog()));
        var draining = policy.Decide(new MissingInput(true, [], PolicyFixtures.Backlog(smartSearch: 12)));
        var unknown = policy.Decide(new MissingInput(true, [], null));
        var drained = policy.Decide(new MissingInput(true, [], PolicyFixtures.Backlog()));

        Assert.Empty(away);
        Assert.Empty(stillPaused);
        Assert.Equal(["ocr"], draining);
        Assert.Empty(unknown);
        Assert.Equal(["ocr", "smartSearch"], drained);
        Assert.Equal(new LostJobs(2, T0, T0.AddSeconds(5)), policy.Affected["smartSearch"]);

        policy.Confirm("ocr", T0.AddMinutes(1));
        policy.Confirm("smartSearch", T0.AddMinutes(1));
        Assert.Empty(policy.Affected);
        Assert.Empty(policy.Decide(new MissingInput(true, [], PolicyFixtures.Backlog())));
    }

    [Fact]
    public void A_loss_after_the_press_is_kept_for_the_next_one()
    {
        var policy = new MissingPolicy();
        policy.RecordLoss("faceDetection", T0);
        policy.RecordLoss("faceDetection", T0.AddMinutes(2));

        policy.Confirm("faceDetection", T0.AddMinutes(1));

        Assert.Equal(["faceDetection"], policy.Decide(new MissingInput(true, [], PolicyFixtures.Backlog())));
    }
}
