using GpuSplit.Planner.Evidence;
using GpuSplit.Planner.Memory;
using GpuSplit.Planner.Units;

namespace GpuSplit.Planner.Tests.Evidence;

/// <summary>The inequality solver on small hand-made record sets: estimate E, unbounded terms U, card V, all in MiB.</summary>
public sealed class CalibrationSolverTests
{
    private const long MiB = ByteSize.MiB;

    private static EvidenceBound Bound(EvidenceOutcome outcome, long estimate, long unbounded, long card = 6000, string clip = "clip-a", int workers = 1,
        string source = "test") =>
        new(new EvidenceEntry(new EvidenceRecord("GPU", card, workers, JobConcurrency.Seed, clip, "face", "ocr", outcome, source), EvidenceOrigin.File, "test.json"),
            JobConcurrency.Seed, estimate * MiB, unbounded * MiB);

    [Fact]
    public void No_record_no_correction()
    {
        var calibration = CalibrationSolver.Solve([]);
        Assert.Equal(0, calibration.Share);
        Assert.Equal(0, calibration.Correction(1000 * MiB));
    }

    [Fact]
    public void A_failure_under_the_card_sets_the_least_share_that_puts_it_over()
    {
        // 5,000 + s·1,000 > 6,000: s = 1,001/1,000.
        var calibration = CalibrationSolver.Solve([Bound(EvidenceOutcome.Unstable, 5000, 1000)]);

        Assert.Equal(1.001, calibration.Share, 9);
        var check = Assert.Single(calibration.Checks);
        Assert.True(check.SetsCalibration);
        Assert.Equal(6001 * MiB, check.CalibratedPeakBytes);
        Assert.Null(check.Contradiction);
        Assert.Equal(512_512 * ByteSize.KiB, calibration.Correction(500 * MiB));
    }

    [Fact]
    public void A_failure_the_estimate_already_puts_over_the_card_needs_no_correction()
    {
        var calibration = CalibrationSolver.Solve([Bound(EvidenceOutcome.Oom, 6500, 1000)]);

        Assert.Equal(0, calibration.Share);
        Assert.Empty(calibration.SetBy);
        Assert.Null(Assert.Single(calibration.Checks).Contradiction);
    }

    [Fact]
    public void The_largest_lower_bound_wins_and_every_failure_ends_over_its_card()
    {
        // s ≥ 501/1,000 and s ≥ 1,001/2,000 (< the first): the first sets it.
        var calibration = CalibrationSolver.Solve([Bound(EvidenceOutcome.Oom, 5500, 1000, source: "one"), Bound(EvidenceOutcome.Oom, 5000, 2000, source: "two")]);

        Assert.Equal(0.501, calibration.Share, 9);
        Assert.Equal("one", Assert.Single(calibration.SetBy).Entry.Record.Source);
        Assert.All(calibration.Checks, c => Assert.True(c.CalibratedPeakBytes > 6000 * MiB));
    }

    [Fact]
    public void A_record_that_held_within_the_correction_agrees()
    {
        // s = 0.501; works at 4,000 + 0.501·1,000 = 4,501 ≤ 6,000; comfortable at 3,000 + 501 ≤ 4,500.
        var calibration = CalibrationSolver.Solve([
            Bound(EvidenceOutcome.Oom, 5500, 1000),
            Bound(EvidenceOutcome.Works, 4000, 1000, clip: "clip-b"),
            Bound(EvidenceOutcome.Comfortable, 3000, 1000, clip: "clip-c"),
        ]);

        Assert.Empty(calibration.Contradictions);
        Assert.Equal(3, calibration.Used.Count());
    }

    [Fact]
    public void Comfortable_means_a_quarter_of_the_card_free()
    {
        // 4,000 + 501 = 4,501 MiB is over three quarters of 6,000 (4,500).
        var calibration = CalibrationSolver.Solve([Bound(EvidenceOutcome.Oom, 5500, 1000, source: "one"), Bound(EvidenceOutcome.Comfortable, 4000, 1000, clip: "clip-b")]);

        var contradiction = Assert.Single(calibration.Contradictions).Contradiction!;
        Assert.StartsWith("it held a quarter of 6,000 MiB free, but the correction the failed records need ('one' (test.json)) puts it at 4,501 MiB", contradiction,
            StringComparison.Ordinal);
    }

    [Fact]
    public void Records_that_disagree_under_the_form_are_reported_and_the_failure_still_wins()
    {
        // s ≥ 0.501 from the failure; the works record would need s ≤ 0.2.
        var calibration = CalibrationSolver.Solve([Bound(EvidenceOutcome.Oom, 5500, 1000, source: "failed"), Bound(EvidenceOutcome.Works, 5800, 1000, clip: "clip-b")]);

        Assert.Equal(0.501, calibration.Share, 9);
        var works = Assert.Single(calibration.Contradictions);
        Assert.Equal(EvidenceOutcome.Works, works.Entry.Record.Outcome);
        Assert.Equal(
            "it held on 6,000 MiB, but the correction the failed records need ('failed' (test.json)) puts it at 6,301 MiB: "
            + "these records disagree under a correction in proportion to activations and ratchet",
            works.Contradiction);
    }

    [Fact]
    public void The_same_models_failing_at_a_lighter_load_on_a_card_as_large_contradict_a_record_that_held()
    {
        var calibration = CalibrationSolver.Solve([
            Bound(EvidenceOutcome.Oom, 5000, 1000, card: 8000, source: "failed on 8 GB"),
            Bound(EvidenceOutcome.Works, 6000, 2000, card: 6000, workers: 2),
        ]);

        Assert.Equal(
            "it held on 6,000 MiB, but 'failed on 8 GB' (test.json) ran out of memory with the same models at the same or a lighter load on a card as large",
            Assert.Single(calibration.Contradictions).Contradiction);
    }

    [Fact]
    public void A_record_the_estimate_alone_overshoots_contradicts_the_model_and_lowers_nothing()
    {
        var calibration = CalibrationSolver.Solve([Bound(EvidenceOutcome.Works, 6500, 1000)]);

        Assert.Equal(0, calibration.Share);
        Assert.Equal(
            "it held on 6,000 MiB, yet the estimate alone is 6,500 MiB: the model overestimates this combination, and the calibration never lowers an estimate",
            Assert.Single(calibration.Contradictions).Contradiction);
    }

    [Fact]
    public void A_failure_with_nothing_to_correct_contradicts_the_model()
    {
        var calibration = CalibrationSolver.Solve([Bound(EvidenceOutcome.Oom, 5000, 0)]);

        Assert.Equal(0, calibration.Share);
        Assert.StartsWith("it ran out of memory on 6,000 MiB, yet the estimate is 5,000 MiB with no activations or ratchet to correct",
            Assert.Single(calibration.Contradictions).Contradiction, StringComparison.Ordinal);
    }

    [Fact]
    public void A_record_that_cannot_be_judged_is_kept_and_says_why_but_sets_nothing()
    {
        var unknown = Bound(EvidenceOutcome.Oom, 0, 0) with { NotUsed = "the catalog has no model 'clip-x'" };

        var calibration = CalibrationSolver.Solve([unknown, Bound(EvidenceOutcome.Works, 4000, 1000)]);

        Assert.Equal(2, calibration.Checks.Count);
        Assert.Single(calibration.Used);
        var check = calibration.Checks[0];
        Assert.Equal((false, (long?)null, (string?)null), (check.Used, check.CalibratedPeakBytes, check.Contradiction));
        Assert.Equal(0, calibration.Share);
    }
}
