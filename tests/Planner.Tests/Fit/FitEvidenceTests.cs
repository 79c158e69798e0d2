using GpuSplit.Planner.Evidence;
using GpuSplit.Planner.Fit;
using GpuSplit.Planner.Memory;
using GpuSplit.Planner.Units;

namespace GpuSplit.Planner.Tests.Fit;

/// <summary>`planner fit` with field reports: a failure on such a card is final, and every record calibrates every estimate.</summary>
public sealed class FitEvidenceTests
{
    private static readonly string[] Best = ["multi-clip", "face-big", "ocr-big"];

    private static FitRequest Request(long budget, int workers = 1, params EvidenceRecord[] records) =>
        new(TestCatalog.Read(TestCatalog.Small()), budget, workers, 300, 0.10, JobConcurrency.Seed, false, false, null, RuntimeCosts.Cuda)
        {
            Evidence = [.. records.Select(r => new EvidenceEntry(r, EvidenceOrigin.File, "mine.json"))],
        };

    private static EvidenceRecord Record(string[] models, EvidenceOutcome outcome, long vramMiB, int workers = 1, JobConcurrency? concurrency = null) =>
        new("GPU", vramMiB, workers, concurrency ?? JobConcurrency.Seed, models[0], models[1], models.ElementAtOrDefault(2), outcome, "test");

    private static Candidate Find(FitResult result, string[] models) =>
        result.Candidates.Single(c => c.Combination.Models.Select(m => m.Name).SequenceEqual(models));

    [Fact]
    public void An_oom_on_a_card_this_size_makes_the_combination_oom_and_moves_the_plan()
    {
        Assert.Equal(Best, FitPlanner.Plan(Request(16 * ByteSize.GiB)).Plan!.Combination.Models.Select(m => m.Name));
        var record = Record(Best, EvidenceOutcome.Oom, 16384);

        var result = FitPlanner.Plan(Request(16 * ByteSize.GiB, 1, record));

        var best = Find(result, Best);
        Assert.Equal((Verdict.Oom, FigureOrigin.Evidence, record), (best.Verdict, best.VerdictOrigin, best.FailedOn!.Record));
        Assert.NotEqual(Best, result.Plan!.Combination.Models.Select(m => m.Name));
        Assert.All(result.Candidates, c => Assert.Equal(result.Calibration.CorrectionBytes(c.Estimate), c.CalibrationBytes));
        Assert.True(best.CalibratedPeakBytes > 16 * ByteSize.GiB, "the calibration alone puts the failed combination over the card");
    }

    [Theory]
    [InlineData(16384, 1, 1, true)]
    [InlineData(20480, 1, 1, true)]
    [InlineData(1024, 1, 1, false)]
    [InlineData(16384, 2, 1, false)]
    [InlineData(16384, 1, 2, true)]
    public void A_failure_decides_only_on_a_card_no_larger_and_a_load_no_lighter(long recordMiB, int recordWorkers, int fitWorkers, bool decides)
    {
        var result = FitPlanner.Plan(Request(16 * ByteSize.GiB, fitWorkers, Record(Best, EvidenceOutcome.Oom, recordMiB, recordWorkers)));

        Assert.Equal(decides, Find(result, Best).FailedOn is not null);
    }

    [Fact]
    public void A_record_that_does_not_know_its_concurrency_is_judged_at_the_fits_own()
    {
        var unknown = Record(Best, EvidenceOutcome.Oom, 16384) with { Concurrency = null };
        var request = Request(16 * ByteSize.GiB, 1, unknown);

        var result = FitPlanner.Plan(request);

        Assert.Equal(unknown, Find(result, Best).FailedOn!.Record);
        var bound = FitEvidence.Bound(request.Evidence[0], request);
        Assert.Equal(request.Concurrency, bound.Concurrency);
        Assert.Equal(FitEvidence.Bound(request.Evidence[0] with { Record = unknown with { Concurrency = request.Concurrency } }, request).EstimatedPeakBytes,
            bound.EstimatedPeakBytes);
    }

    [Fact]
    public void A_heavier_concurrency_than_the_record_failed_at_fails_too_a_lighter_one_is_not_decided()
    {
        var record = Record(Best, EvidenceOutcome.Oom, 16384, concurrency: new JobConcurrency(2, 2, 1));

        Assert.NotNull(Find(FitPlanner.Plan(Request(16 * ByteSize.GiB, 1, record)), Best).FailedOn);
        Assert.Null(Find(FitPlanner.Plan(Request(16 * ByteSize.GiB, 1, record with { Concurrency = new JobConcurrency(4, 3, 1) })), Best).FailedOn);
    }

    [Fact]
    public void Unstable_caps_the_verdict_at_unstable_even_where_the_calibration_cannot_reach()
    {
        // Models with no activations and no convolution scratch: nothing for the calibration to scale.
        var catalog = TestCatalog.Read(TestCatalog.Document(
            TestCatalog.Model("clip", "clip", 60, TestCatalog.Component("visual", 100 * TestCatalog.MB), TestCatalog.Component("textual", 100 * TestCatalog.MB)),
            TestCatalog.Model("face", "facial-recognition", null, TestCatalog.Component("detection", 10 * TestCatalog.MB), TestCatalog.Component("recognition", 10 * TestCatalog.MB))));
        var request = new FitRequest(catalog, 16 * ByteSize.GiB, 1, 300, 0.10, JobConcurrency.Seed, false, false, null, RuntimeCosts.Cuda with { ConvWorkspaceBytes = 0 })
        {
            Evidence = [new EvidenceEntry(Record(["clip", "face"], EvidenceOutcome.Unstable, 16384), EvidenceOrigin.File, "mine.json")],
        };

        var result = FitPlanner.Plan(request);

        var candidate = Assert.Single(result.Candidates);
        Assert.Equal((Verdict.Comfortable, Verdict.Unstable, 0L), (candidate.CalibratedVerdict, candidate.Verdict, candidate.CalibrationBytes));
        Assert.Null(result.Plan);
        Assert.StartsWith("it ran out of memory on 16,384 MiB", Assert.Single(result.Calibration.Contradictions).Contradiction, StringComparison.Ordinal);
    }

    [Fact]
    public void A_record_naming_a_model_the_catalog_lacks_is_kept_and_says_so()
    {
        var result = FitPlanner.Plan(Request(16 * ByteSize.GiB, 1, Record(["no-such-clip", "face-big"], EvidenceOutcome.Oom, 16384)));

        var check = Assert.Single(result.Calibration.Checks);
        Assert.Equal("the catalog has no model 'no-such-clip'", check.Bound.NotUsed);
        Assert.Equal(0, result.Calibration.Share);
        Assert.Equal(Best, result.Plan!.Combination.Models.Select(m => m.Name));
    }

    [Fact]
    public void A_model_named_for_the_wrong_job_is_not_used()
    {
        var result = FitPlanner.Plan(Request(16 * ByteSize.GiB, 1, Record(["face-big", "face-big"], EvidenceOutcome.Oom, 16384)));

        Assert.Equal("'face-big' is not a clip model", Assert.Single(result.Calibration.Checks).Bound.NotUsed);
    }

    [Fact]
    public void Records_are_judged_at_their_own_workers_and_concurrency()
    {
        var record = Record(Best, EvidenceOutcome.Works, 16384, 2, new JobConcurrency(1, 1, 1));
        var request = Request(16 * ByteSize.GiB, 1, record);

        var bound = FitEvidence.Bound(request.Evidence[0], request);

        var one = Find(FitPlanner.Plan(request), Best).Estimate;
        Assert.NotEqual(one.PeakBytes, bound.EstimatedPeakBytes);
        var loads = one.Components.Select(c => c.Load).ToList();
        var own = MemoryModel.Estimate(loads, new JobConcurrency(1, 1, 1), 2, RuntimeCosts.Cuda);
        Assert.Equal((own.PeakBytes, own.ActivationBytes + own.RatchetBytes), (bound.EstimatedPeakBytes, bound.UnboundedBytes));
    }
}
