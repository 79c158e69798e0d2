using GpuSplit.Planner.Fit;
using GpuSplit.Planner.Memory;
using GpuSplit.Planner.Units;

namespace GpuSplit.Planner.Tests.Fit;

/// <summary>`planner fit --gpu NAME` with combinations `planner measure --service --combination` ran on that card.</summary>
public sealed class MeasuredCombinationTests
{
    private const string Gtx1060 = "NVIDIA GeForce GTX 1060 6GB";
    private const string Ran = "onnxruntime error: Failed to allocate memory for requested buffer of size 4718592";
    private static readonly DateTimeOffset MeasuredAt = new(2026, 11, 24, 3, 0, 0, TimeSpan.Zero);
    private static readonly string[] Best = ["multi-clip", "face-big", "ocr-big"];

    private static FitRequest Request(long budget, int workers = 1, params MeasuredCombination[] measured) =>
        new(TestCatalog.Read(TestCatalog.Small()), budget, workers, 300, 0.10, JobConcurrency.Seed, false, false, Gtx1060, RuntimeCosts.Cuda)
        {
            MeasuredCombinations = measured,
        };

    private static MeasuredCombination Measured(string[] models, long peak, bool oom = false, string device = Gtx1060, string? concurrency = null) =>
        new(device, models, concurrency ?? JobConcurrency.Seed.ToString(), oom, oom ? Ran : null, peak, 6 * ByteSize.GiB, "immich-machine-learning:v2.3.1-cuda", MeasuredAt);

    private static Candidate Find(FitResult result, string[] models) =>
        result.Candidates.Single(c => c.Combination.Models.Select(m => m.Name).SequenceEqual(models));

    [Fact]
    public void A_measured_oom_overrules_a_comfortable_estimate_and_the_plan_moves_to_the_next_best()
    {
        var estimated = FitPlanner.Plan(Request(16 * ByteSize.GiB));
        Assert.Equal(Best, estimated.Plan!.Combination.Models.Select(m => m.Name));

        var result = FitPlanner.Plan(Request(16 * ByteSize.GiB, 1, Measured(Best, 5 * ByteSize.GiB, oom: true)));

        Assert.Equal(["multi-clip", "face-big", "ocr-small"], result.Plan!.Combination.Models.Select(m => m.Name));
        Assert.Equal(FigureOrigin.Estimate, result.Plan.VerdictOrigin);
        var best = Find(result, Best);
        Assert.Equal((Verdict.Oom, Verdict.Comfortable, FigureOrigin.Service), (best.Verdict, best.EstimatedVerdict, best.VerdictOrigin));
        Assert.Equal(
            $"measured oom on {Gtx1060} ({Ran}, 2026-11-24); the estimate said comfortable at {ByteSize.FormatMiB(best.Estimate.PeakBytes)}",
            best.Disagreement);
    }

    [Fact]
    public void A_measured_peak_below_the_estimate_upgrades_the_verdict()
    {
        var estimate = Find(FitPlanner.Plan(Request(16 * ByteSize.GiB)), Best).Estimate.PeakBytes;
        var budget = estimate * 105 / 100;
        Assert.Equal(Verdict.Unstable, Find(FitPlanner.Plan(Request(budget)), Best).Verdict);

        var result = FitPlanner.Plan(Request(budget, 1, Measured(Best, estimate / 2)));

        var best = Find(result, Best);
        Assert.Same(best, result.Plan);
        Assert.Equal((Verdict.Comfortable, Verdict.Unstable, FigureOrigin.Service), (best.Verdict, best.EstimatedVerdict, best.VerdictOrigin));
        Assert.Equal((estimate / 2, budget - (estimate / 2)), (best.PeakBytes, best.HeadroomBytes));
        Assert.Equal(estimate, best.Estimate.PeakBytes);
        Assert.Equal(
            $"measured comfortable on {Gtx1060} (peak {ByteSize.FormatMiB(estimate / 2)} of the card's 6,144 MiB, 2026-11-24); the estimate said unstable at {ByteSize.FormatMiB(estimate)}",
            best.Disagreement);
    }

    [Fact]
    public void A_peak_that_held_on_the_card_is_judged_against_the_fits_own_budget()
    {
        // Comfortable on the whole 6 GiB card; a fit told to keep to 4.2 GiB (a game beside it) has 5% of it left.
        var result = FitPlanner.Plan(Request((long)(4.2 * ByteSize.GiB), 1, Measured(Best, 4 * ByteSize.GiB)));

        var best = Find(result, Best);
        Assert.Equal((Verdict.Unstable, FigureOrigin.Service), (best.Verdict, best.VerdictOrigin));
    }

    [Fact]
    public void A_measurement_that_agrees_with_the_estimate_says_nothing_more()
    {
        var estimate = Find(FitPlanner.Plan(Request(16 * ByteSize.GiB)), Best).Estimate.PeakBytes;

        var best = Find(FitPlanner.Plan(Request(16 * ByteSize.GiB, 1, Measured(Best, estimate + ByteSize.MiB))), Best);

        Assert.Equal((Verdict.Comfortable, FigureOrigin.Service), (best.Verdict, best.VerdictOrigin));
        Assert.Null(best.Disagreement);
    }

    [Theory]
    [InlineData(Gtx1060, "smart-search=2,face-detection=2,ocr=1", "multi-clip,face-big,ocr-big")]
    [InlineData("NVIDIA GeForce RTX 3060", null, "multi-clip,face-big,ocr-big")]
    [InlineData(Gtx1060, null, "multi-clip,face-big")]
    [InlineData(Gtx1060, null, "face-big,multi-clip,ocr-big")]
    [InlineData(Gtx1060, null, "Multi-Clip,face-big,ocr-big")]
    public void A_combination_measured_at_other_concurrency_on_another_card_or_with_other_models_is_not_used(string device, string? concurrency,
        string models)
    {
        var used = Find(FitPlanner.Plan(Request(16 * ByteSize.GiB, 1, Measured(Best, 1, oom: true))), Best);
        Assert.Equal(FigureOrigin.Service, used.VerdictOrigin);

        var result = FitPlanner.Plan(Request(16 * ByteSize.GiB, 1, Measured(models.Split(','), 1, oom: true, device, concurrency)));

        var best = Find(result, Best);
        Assert.Equal((FigureOrigin.Estimate, Verdict.Comfortable, best.Estimate.PeakBytes), (best.VerdictOrigin, best.Verdict, best.PeakBytes));
        Assert.Same(best, result.Plan);
    }

    [Fact]
    public void With_two_workers_a_one_worker_measurement_is_not_used()
    {
        var measured = Measured(Best, 1, oom: true);
        Assert.Equal(FigureOrigin.Service, Find(FitPlanner.Plan(Request(16 * ByteSize.GiB, 1, measured)), Best).VerdictOrigin);

        var result = FitPlanner.Plan(Request(16 * ByteSize.GiB, 2, measured));

        var best = Find(result, Best);
        Assert.Equal((FigureOrigin.Estimate, Verdict.Comfortable, 2), (best.VerdictOrigin, best.Verdict, best.Estimate.Workers));
        Assert.Null(best.Measured);
        Assert.Same(best, result.Plan);
    }

    [Fact]
    public void A_card_that_ran_out_does_not_size_the_smallest_card_that_would_do()
    {
        // Nothing fits 1 GiB; the candidate that needs least ran out on a card at a peak far below any estimate.
        var estimated = FitPlanner.Plan(Request(ByteSize.GiB));
        var least = estimated.Candidates.MinBy(c => c.PeakBytes)!;
        var models = least.Combination.Models.Select(m => m.Name).ToArray();
        var others = estimated.Candidates.Where(c => !ReferenceEquals(c, least)).Min(c => VerdictPolicy.SmallestBudgetThatFits(c.PeakBytes, 0.10));

        var result = FitPlanner.Plan(Request(ByteSize.GiB, 1, Measured(models, 100 * ByteSize.MiB, oom: true)));

        Assert.Null(result.Plan);
        Assert.Equal(others, result.SmallestBudgetThatFits);
    }
}
