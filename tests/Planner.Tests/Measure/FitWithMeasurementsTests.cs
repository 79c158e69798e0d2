using System.Text.Json;
using GpuSplit.Planner.Catalog;
using GpuSplit.Planner.Cli;
using GpuSplit.Planner.Evidence;
using GpuSplit.Planner.Fit;
using GpuSplit.Planner.Measure;
using GpuSplit.Planner.Memory;
using GpuSplit.Planner.Units;

namespace GpuSplit.Planner.Tests.Measure;

/// <summary>`planner fit --gpu NAME` with what `planner measure` recorded.</summary>
public sealed class FitWithMeasurementsTests : IDisposable
{
    private const string Gtx1060 = "NVIDIA GeForce GTX 1060 6GB";
    private const string Rtx3070 = "NVIDIA GeForce RTX 3070";
    private const long MiB = 1024 * 1024;

    private readonly TempFolder temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public async Task Measured_figures_replace_estimates_for_that_gpu_and_the_output_says_so()
    {
        var file = temp.File("gtx1060.json");
        MeasurementsFile.Merge(file, Run(Gtx1060, "in-process", ("detection", 40 * MiB, 700 * MiB), ("recognition", 30 * MiB, 90 * MiB)));

        var (code, output, error) = await Fit("--gpu", Gtx1060, "--measurements", file);

        Assert.Equal(0, code);
        Assert.Equal($"planner fit: measured figures for '{Gtx1060}' from {file}; components without one are estimated", error.Trim());
        var ocr = OcrComponents(output);
        Assert.Equal([("detection", "measured", 40L), ("recognition", "measured", 30L)], ocr.Select(c => (c.Type, c.Source, c.WeightsMiB)));
        // Per request: the measured peak minus the loaded weights (700 - 40 MiB at OCR concurrency 1).
        Assert.Equal(660, ocr[0].ActivationsMiB);
        // The bare context measured on the card replaces the estimate's.
        Assert.Equal((300, "measured"), Context(output));
    }

    [Fact]
    public async Task Another_gpus_figures_are_not_used_and_the_output_names_the_ones_there_are()
    {
        var file = temp.File("measurements.json");
        MeasurementsFile.Merge(file, Run("NVIDIA GeForce RTX 3060", "in-process", ("detection", 40 * MiB, 700 * MiB)));

        var (code, output, error) = await Fit("--gpu", Gtx1060, "--measurements", file);

        Assert.Equal(0, code);
        Assert.Contains("has no figures for 'NVIDIA GeForce GTX 1060 6GB' (it has: 'NVIDIA GeForce RTX 3060'); every figure is an estimate", error);
        Assert.All(OcrComponents(output), c => Assert.Equal("estimate", c.Source));
        Assert.Equal((274, "estimate"), Context(output));
    }

    [Fact]
    public async Task The_file_next_to_the_catalog_is_read_without_being_named()
    {
        var catalog = temp.File("models.json");
        File.Copy(Path.Combine(RealModels.RepositoryRoot, "models.json"), catalog);
        MeasurementsFile.Merge(temp.File("measurements.json"), Run(Gtx1060, "in-process", ("detection", 40 * MiB, 700 * MiB)));

        var (code, output, _) = await Fit("--gpu", Gtx1060, "--catalog", catalog);

        Assert.Equal(0, code);
        Assert.Equal(["measured", "estimate"], OcrComponents(output).Select(c => c.Source));
    }

    [Fact]
    public async Task A_missing_measurements_file_is_a_usage_error()
    {
        var (code, _, error) = await Fit("--gpu", Gtx1060, "--measurements", temp.File("absent.json"));

        Assert.Equal(2, code);
        Assert.Equal($"planner: --measurements: '{temp.File("absent.json")}' does not exist", error.Trim());
    }

    [Fact]
    public void A_service_figure_beats_an_in_process_one_for_the_same_card()
    {
        var document = new MeasurementsDocument();
        MeasurementsFile.Merge(document, Run(Gtx1060, "in-process", ("recognition", 30 * MiB, 90 * MiB)));
        MeasurementsFile.Merge(document, Run(Gtx1060, "service", ("recognition", 35 * MiB, 120 * MiB)));

        var catalog = MeasuredFigures.Apply(CatalogReader.LoadEmbedded(), document, "m.json");

        var figure = catalog.Find("PP-OCRv5_mobile")!.Component(ComponentType.Recognition)!.Measured[Gtx1060];
        Assert.Equal(new MeasuredFootprint(35 * MiB, 120 * MiB, "service", figure.Source), figure);
        Assert.Contains("m.json (service, ", figure.Source);
    }

    [Fact]
    public async Task A_combination_the_card_ran_out_on_is_not_the_plan_and_the_output_says_what_the_card_did()
    {
        // The plan the calibrated estimate picks for an 8 GB card (the seed's field reports built in), which the card then ran out of memory on.
        // An 8 GB card's plan is the best-ranked combination, so its row is in the table; on the seed's 6 GB card it ranks 33rd.
        var catalog = CatalogReader.LoadEmbedded();
        var estimated = FitPlanner.Plan(new FitRequest(catalog, 8 * ByteSize.GiB, 1, 300, 0.10, JobConcurrency.Seed, false, false, Rtx3070, RuntimeCosts.Cuda)
        {
            Evidence = [.. EvidenceJson.LoadEmbedded().Select(record => new EvidenceEntry(record, EvidenceOrigin.Seed, "embedded evidence.json"))],
        }).Plan!;
        Assert.True(estimated.CalibrationBytes > 0);
        string[] models = [.. estimated.Combination.Models.Select(m => m.Name)];
        const string cause = "onnxruntime error: Failed to allocate memory for requested buffer of size 4718592";
        var file = temp.File("measurements.json");
        MeasurementsFile.Merge(file, new MeasurementUpdate(Rtx3070, "service", "immich-machine-learning:v2.3.1-cuda", "NVML", MeasuredAt, null,
            "immich-machine-learning:v2.3.1-cuda", [],
            [
                new CombinationEntry
                {
                    Models = [.. models], Concurrency = JobConcurrency.Seed.ToString(), Verdict = "oom", PeakBytes = 5_800 * MiB,
                    DeviceTotalBytes = 8_192 * MiB, OutOfMemory = cause, Runtime = "immich-machine-learning:v2.3.1-cuda", MeasuredAt = MeasuredAt,
                },
            ]));
        var said = $"measured oom on {Rtx3070} ({cause}, 2026-11-24); the estimate said {estimated.Verdict.WireName()} at {ByteSize.FormatMiB(estimated.PeakBytes)} with calibration";

        var json = await PlannerProcess.RunAsync("fit", "--vram", "8GB", "--gpu", Rtx3070, "--measurements", file, "--json");
        var table = await PlannerProcess.RunAsync("fit", "--vram", "8GB", "--gpu", Rtx3070, "--measurements", file);

        Assert.True(json.ExitCode == 0, json.ToString());
        Assert.Contains("1 combination(s) measured through Immich's ML service give their own verdicts with 1 worker", json.Error, StringComparison.Ordinal);
        using var document = JsonDocument.Parse(json.Output);
        var plan = document.RootElement.GetProperty("plan");
        Assert.NotEqual(models, PlanModels(plan));
        Assert.Equal("estimate", plan.GetProperty("verdictOrigin").GetString());
        var measured = document.RootElement.GetProperty("candidates").EnumerateArray().Single(c => PlanModels(c).SequenceEqual(models));
        Assert.Equal(("oom", "service", estimated.Verdict.WireName(), ByteSize.ToMiB(estimated.PeakBytes), estimated.EstimatedVerdict.WireName(),
            ByteSize.ToMiB(estimated.Estimate.PeakBytes), 5_800L), (
            measured.GetProperty("verdict").GetString(), measured.GetProperty("verdictOrigin").GetString(), measured.GetProperty("calibratedVerdict").GetString(),
            measured.GetProperty("calibratedPeakMiB").GetInt64(), measured.GetProperty("estimatedVerdict").GetString(),
            measured.GetProperty("estimatedPeakMiB").GetInt64(), measured.GetProperty("peakMiB").GetInt64()));
        Assert.Equal((cause, "2026-11-24T03:00:00+00:00"), (measured.GetProperty("measured").GetProperty("outOfMemory").GetString(),
            measured.GetProperty("measured").GetProperty("measuredAt").GetString()));
        Assert.Equal(said, measured.GetProperty("disagreement").GetString());

        Assert.True(table.ExitCode == 0, table.ToString());
        Assert.Contains($"{estimated.Combination}: {said}", table.Output, StringComparison.Ordinal);
        Assert.Contains("oom (service)", table.Output, StringComparison.Ordinal);
    }

    private static readonly DateTimeOffset MeasuredAt = new(2026, 11, 24, 3, 0, 0, TimeSpan.Zero);

    private static string?[] PlanModels(JsonElement candidate) =>
        [.. new[] { "clip", "facialRecognition", "ocr" }.Select(field => candidate.GetProperty(field).GetString()).Where(name => name is not null)];

    private static MeasureRun Run(string device, string method, params (string Type, long Loaded, long Peak)[] components) => new(
        device,
        method,
        "ONNX Runtime 1.31.0",
        "test readings",
        new DateTimeOffset(2026, 11, 24, 0, 0, 0, TimeSpan.Zero),
        300 * MiB,
        [.. components.Select(c => new ComponentMeasurement(
            "PP-OCRv5_mobile", "ocr", c.Type, $"/cache/ocr/PP-OCRv5_mobile/{c.Type}/model.onnx", 5_000_000, 4_700_000, [new PlannedInput("x", "float32", [1, 3, 736, 1312])],
            new ProcessReadings(300 * MiB, (300 * MiB) + c.Loaded, (300 * MiB) + c.Loaded, (300 * MiB) + c.Peak, null), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1)))],
        []);

    private static List<(string Type, string Source, long WeightsMiB, long ActivationsMiB)> OcrComponents(string fitJson)
    {
        using var json = JsonDocument.Parse(fitJson);
        var candidate = json.RootElement.GetProperty("candidates").EnumerateArray().First(c => c.GetProperty("ocr").GetString() == "PP-OCRv5_mobile");
        return candidate.GetProperty("components").EnumerateArray()
            .Where(c => c.GetProperty("task").GetString() == "ocr")
            .Select(c => (c.GetProperty("type").GetString()!, c.GetProperty("source").GetString()!, c.GetProperty("weightsMiB").GetInt64(), c.GetProperty("activationsMiB").GetInt64()))
            .ToList();
    }

    private static (int MiB, string Source) Context(string fitJson)
    {
        using var json = JsonDocument.Parse(fitJson);
        var terms = json.RootElement.GetProperty("plan").GetProperty("terms");
        return (terms.GetProperty("contextMiB").GetInt32(), terms.GetProperty("contextSource").GetString()!);
    }

    private static async Task<(int Code, string Output, string Error)> Fit(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await PlannerCli.RunAsync(["fit", "--vram", "6GB", "--require", "ocr", "--json", .. args], output, error);
        return (code, output.ToString(), error.ToString());
    }
}
