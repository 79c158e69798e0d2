using GpuSplit.Planner.Catalog;
using GpuSplit.Planner.Fit;
using GpuSplit.Planner.Memory;
using GpuSplit.Planner.Units;

namespace GpuSplit.Planner.Tests.Fit;

/// <summary>
/// The seed story's four attempts on a 6 GB GTX 1060 (one worker, TTL 300, concurrency 3/3/1), through the
/// embedded catalog and the default runtime costs. docs/memory-model.md compares each with what the author saw.
/// </summary>
public sealed class SeedAttemptsTests
{
    private const string Face = "buffalo_l";
    private const string Ocr = "PP-OCRv5_mobile";

    private static readonly ModelCatalog Catalog = CatalogReader.LoadEmbedded();

    private static Candidate Attempt(string clip, string? ocr)
    {
        var request = new FitRequest(Catalog, 6 * ByteSize.GiB, 1, 300, 0.10, JobConcurrency.Seed, false, false, null, RuntimeCosts.Cuda);
        return FitPlanner.Evaluate(new Combination(Catalog.Find(clip)!, Catalog.Find(Face)!, ocr is null ? null : Catalog.Find(ocr)), request);
    }

    private static Candidate One => Attempt("XLM-Roberta-Large-Vit-B-16Plus", Ocr);

    private static Candidate Two => Attempt("XLM-Roberta-Base-ViT-B-32__laion5b_s13b_b90k", Ocr);

    private static Candidate Three => Attempt("ViT-B-32__openai", Ocr);

    private static Candidate Four => Attempt("ViT-B-32__openai", null);

    [Fact]
    public void Attempt_one_xlm_roberta_large_runs_out_of_memory() => Assert.Equal(Verdict.Oom, One.Verdict);

    [Fact]
    public void Attempt_four_without_ocr_is_comfortable() => Assert.Equal(Verdict.Comfortable, Four.Verdict);

    [Fact]
    public void Attempt_three_the_one_the_seed_shipped_fits() => Assert.Equal(Verdict.Fits, Three.Verdict);

    [Fact]
    public void Attempt_two_lies_on_the_edge_of_unstable()
    {
        // The seed called two "unstable"; the static model leaves it less than one cuDNN workspace (32 MiB) above the
        // unstable line, so any one term it cannot bound tips it over (docs/memory-model.md, "Where the model and the
        // seed disagree").
        var unstableLine = (long)(0.10 * 6 * ByteSize.GiB);
        Assert.True(Two.Verdict is Verdict.Unstable or Verdict.Fits, Two.Verdict.ToString());
        Assert.InRange(Two.HeadroomBytes - unstableLine, long.MinValue, 32 * ByteSize.MiB);
    }

    [Fact]
    public void The_plan_for_the_seeds_card_is_lighter_than_the_attempt_the_seed_saw_unstable()
    {
        var request = new FitRequest(Catalog, 6 * ByteSize.GiB, 1, 300, 0.10, JobConcurrency.Seed, false, false, null, RuntimeCosts.Cuda);

        var plan = FitPlanner.Plan(request).Plan;

        Assert.NotNull(plan);
        Assert.True(plan.PeakBytes < Two.PeakBytes, $"{plan.PeakBytes / ByteSize.MiB} MiB is not under attempt two's {Two.PeakBytes / ByteSize.MiB} MiB");
    }

    [Fact]
    public void Peaks_fall_from_attempt_one_to_four()
    {
        Assert.True(One.PeakBytes > Two.PeakBytes);
        Assert.True(Two.PeakBytes > Three.PeakBytes);
        Assert.True(Three.PeakBytes > Four.PeakBytes);
    }

    [Fact]
    public void Turning_ocr_off_removes_its_weights_activations_and_the_ratchet()
    {
        Assert.True(Three.Estimate.RatchetBytes > 0, "OCR detection's varying input must ratchet the arena");
        Assert.Equal(0, Four.Estimate.RatchetBytes);
        var ocrShare = Three.Estimate.Components.Where(c => c.Load.Task == ModelTask.Ocr).Sum(c => c.TotalBytes);
        Assert.Equal(Three.PeakBytes - ocrShare, Four.PeakBytes);
    }

    [Fact]
    public void Two_workers_do_not_fit_the_three_models_on_the_card()
    {
        // "2 workers OOMed the 1060's 6GB VRAM" with all three models loaded.
        var request = new FitRequest(Catalog, 6 * ByteSize.GiB, 2, 300, 0.10, JobConcurrency.Seed, false, false, null, RuntimeCosts.Cuda);
        var twoWorkers = FitPlanner.Evaluate(new Combination(Catalog.Find("ViT-B-32__openai")!, Catalog.Find(Face)!, Catalog.Find(Ocr)), request);
        Assert.Equal(Verdict.Oom, twoWorkers.Verdict);
    }
}
