using GpuSplit.Planner.Catalog;
using GpuSplit.Planner.Fit;
using GpuSplit.Planner.Memory;
using GpuSplit.Planner.Units;

namespace GpuSplit.Planner.Tests.Fit;

public sealed class FitPlannerTests
{
    private static readonly RuntimeCosts Costs = new(CudaContextBytes: 300 * ByteSize.MiB, ReserveBytes: 450 * ByteSize.MiB, ConvWorkspaceBytes: 0);

    private static FitResult Plan(long budget, bool requireOcr = false, bool multilingual = false, ModelCatalog? catalog = null) =>
        FitPlanner.Plan(new FitRequest(catalog ?? TestCatalog.Read(TestCatalog.Small()), budget, 1, 300, 0.10, JobConcurrency.Seed, requireOcr, multilingual, null, Costs));

    [Fact]
    public void Enumerates_every_clip_face_and_ocr_or_none()
    {
        var result = Plan(8 * ByteSize.GiB);
        Assert.Equal(2 * 2 * 3, result.Candidates.Count);
        Assert.Contains(result.Candidates, c => c.Combination.Ocr is null);
    }

    [Fact]
    public void On_a_roomy_card_the_best_models_win_with_ocr_on()
    {
        var plan = Plan(16 * ByteSize.GiB).Plan!;
        Assert.Equal(("multi-clip", "face-big", "ocr-big"), (plan.Combination.Clip.Name, plan.Combination.Face.Name, plan.Combination.Ocr?.Name));
        Assert.Equal(Verdict.Comfortable, plan.Verdict);
    }

    [Fact]
    public void A_job_switched_on_outranks_a_better_clip_model()
    {
        // 2.65 GiB takes small-clip with OCR but not multi-clip with OCR; multi-clip without OCR would fit.
        var result = Plan((long)(2.65 * ByteSize.GiB));
        Assert.NotNull(result.Plan!.Combination.Ocr);
        Assert.Equal("small-clip", result.Plan.Combination.Clip.Name);
        Assert.Contains(result.Candidates, c => c.Combination.Clip.Name == "multi-clip" && c.Combination.Ocr is null && c.Usable);
    }

    [Fact]
    public void Multilingual_keeps_only_multilingual_clip_models()
    {
        var result = Plan(16 * ByteSize.GiB, multilingual: true);
        Assert.All(result.Candidates, c => Assert.True(c.Combination.Clip.Multilingual));
    }

    [Fact]
    public void Require_ocr_drops_the_plans_without_it()
    {
        var result = Plan(16 * ByteSize.GiB, requireOcr: true);
        Assert.All(result.Candidates, c => Assert.NotNull(c.Combination.Ocr));
    }

    [Fact]
    public void Nothing_fits_says_the_smallest_card_that_would()
    {
        var result = Plan(1 * ByteSize.GiB);
        Assert.Null(result.Plan);
        var smallest = result.SmallestBudgetThatFits!.Value;
        Assert.Equal(Verdict.Fits, VerdictPolicy.Classify(result.Candidates.Min(c => c.PeakBytes), smallest, 0.10));
        Assert.NotNull(Plan(smallest).Plan);
        Assert.Null(Plan(smallest - 1).Plan);
    }

    [Fact]
    public void Each_candidate_carries_its_verdict_against_the_budget()
    {
        var budget = 3 * ByteSize.GiB;
        foreach (var candidate in Plan(budget).Candidates)
        {
            Assert.Equal(VerdictPolicy.Classify(candidate.PeakBytes, budget, 0.10), candidate.Verdict);
            Assert.Equal(budget - candidate.PeakBytes, candidate.HeadroomBytes);
        }
    }

    [Fact]
    public void Settings_name_the_models_and_the_concurrency()
    {
        var plan = Plan(16 * ByteSize.GiB).Plan!;
        var settings = ImmichSettings.For(plan.Combination, workers: 1, ttlSeconds: 300, JobConcurrency.Seed);
        Assert.Equal("1", settings.Environment["MACHINE_LEARNING_WORKERS"]);
        Assert.Equal("300", settings.Environment["MACHINE_LEARNING_MODEL_TTL"]);
        Assert.Equal("multi-clip", (string?)settings.Config["machineLearning"]!["clip"]!["modelName"]);
        Assert.Equal("ocr-big", (string?)settings.Config["machineLearning"]!["ocr"]!["modelName"]);
        Assert.Equal(3, (int?)settings.Config["job"]!["smartSearch"]!["concurrency"]);
    }
}
