using System.Text.Json.Nodes;
using GpuSplit.Planner.Catalog;
using GpuSplit.Planner.Onnx;
using GpuSplit.Planner.Units;

namespace GpuSplit.Planner.Tests.Cli;

public sealed class FitCommandTests
{
    [Fact]
    public async Task The_main_job_prints_a_plan_the_arithmetic_and_the_settings()
    {
        var result = await PlannerProcess.RunAsync("fit", "--vram", "6GB");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("Plan: ", result.Output, StringComparison.Ordinal);
        Assert.Contains("Budget", result.Output, StringComparison.Ordinal);
        Assert.Contains("ratchet", result.Output, StringComparison.Ordinal);
        Assert.Contains("Alternatives", result.Output, StringComparison.Ordinal);
        Assert.Contains("MACHINE_LEARNING_WORKERS=1", result.Output, StringComparison.Ordinal);
        Assert.Contains("MACHINE_LEARNING_MODEL_TTL=300", result.Output, StringComparison.Ordinal);
        Assert.Contains("\"concurrency\": 3", result.Output, StringComparison.Ordinal);
        Assert.Empty(result.Error);
    }

    [Fact]
    public async Task Json_has_the_stable_fields_scripts_use()
    {
        var result = await PlannerProcess.RunAsync("fit", "--vram", "6GB", "--json");
        Assert.Equal(0, result.ExitCode);

        var document = JsonNode.Parse(result.Output)!;
        Assert.Equal(6144, (int)document["budgetMiB"]!);
        Assert.Equal(1, (int)document["workers"]!);
        Assert.Equal(300, (int)document["ttlSeconds"]!);
        var plan = document["plan"]!;
        foreach (var field in new[] { "clip", "facialRecognition", "ocr", "peakMiB", "headroomMiB", "verdict" })
        {
            Assert.True(plan.AsObject().ContainsKey(field), $"plan.{field} is missing");
        }

        Assert.Equal(6144 - (int)plan["peakMiB"]!, (int)plan["headroomMiB"]!, tolerance: 1);
        var candidates = document["candidates"]!.AsArray();
        // Every CLIP model with every face model and every OCR model or none.
        var catalog = CatalogReader.LoadEmbedded();
        Assert.Equal(catalog.ForTask(ModelTask.Clip).Count() * catalog.ForTask(ModelTask.FacialRecognition).Count()
            * (catalog.ForTask(ModelTask.Ocr).Count() + 1), candidates.Count);
        Assert.All(candidates, c => Assert.Contains((string)c!["verdict"]!, new[] { "oom", "unstable", "fits", "comfortable" }));
        Assert.All(candidates, c =>
        {
            foreach (var field in new[] { "clip", "facialRecognition", "ocr", "peakMiB", "headroomMiB", "verdict" })
            {
                Assert.True(c!.AsObject().ContainsKey(field), $"candidates[].{field} is missing");
            }
        });
        Assert.Contains(candidates, c => c!["ocr"] is null);
        var immich = document["immich"]!;
        Assert.Equal("1", (string?)immich["env"]!["MACHINE_LEARNING_WORKERS"]);
        Assert.Equal("300", (string?)immich["env"]!["MACHINE_LEARNING_MODEL_TTL"]);
        var ml = immich["config"]!["machineLearning"]!;
        Assert.Equal((string?)plan["clip"], (string?)ml["clip"]!["modelName"]);
        Assert.Equal((string?)plan["facialRecognition"], (string?)ml["facialRecognition"]!["modelName"]);
        Assert.Equal(plan["ocr"] is not null, (bool)ml["ocr"]!["enabled"]!);
        Assert.Equal((string?)plan["ocr"], (string?)ml["ocr"]!["modelName"]);
        var jobs = immich["config"]!["job"]!;
        Assert.Equal((3, 3, 1), ((int)jobs["smartSearch"]!["concurrency"]!, (int)jobs["faceDetection"]!["concurrency"]!, (int)jobs["ocr"]!["concurrency"]!));
    }

    [Fact]
    public async Task Multilingual_and_required_ocr_shape_the_plan()
    {
        var result = await PlannerProcess.RunAsync("fit", "--vram", "8GB", "--multilingual", "--require", "ocr", "--json");
        Assert.Equal(0, result.ExitCode);
        var document = JsonNode.Parse(result.Output)!;
        var catalog = JsonNode.Parse((await PlannerProcess.RunAsync("catalog", "--json")).Output)!["models"]!.AsArray();
        var multilingual = catalog.Where(m => (bool)m!["multilingual"]!).Select(m => (string)m!["name"]!).ToHashSet();
        Assert.All(document["candidates"]!.AsArray(), c =>
        {
            Assert.Contains((string)c!["clip"]!, multilingual);
            Assert.NotNull((string?)c["ocr"]);
        });
    }

    [Fact]
    public async Task A_bare_number_is_MiB_as_nvidia_smi_prints_it()
    {
        var bare = await PlannerProcess.RunAsync("fit", "--vram", "6144", "--json");
        var withUnit = await PlannerProcess.RunAsync("fit", "--vram", "6GB", "--json");
        Assert.Equal(0, bare.ExitCode);
        Assert.Equal(withUnit.Output, bare.Output);
        Assert.Equal(6144, (int)JsonNode.Parse(bare.Output)!["budgetMiB"]!);

        var plain = await PlannerProcess.RunAsync("fit", "--vram", "6144");
        Assert.Equal(0, plain.ExitCode);
        Assert.StartsWith("Card: 6,144 MiB", plain.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("--vram", "4GB")]
    [InlineData("--workers", "2")]
    public async Task Alternatives_show_the_plan_and_the_better_ranked_rows_just_above_it(string option, string value)
    {
        var args = option == "--vram" ? new[] { "fit", option, value } : ["fit", "--vram", "6GB", option, value];
        var json = JsonNode.Parse((await PlannerProcess.RunAsync([.. args, "--json"])).Output)!;
        var candidates = json["candidates"]!.AsArray();
        var planIndex = candidates.Select(Combination).ToList().IndexOf(Combination(json["plan"]));
        // Both settings push the plan well down the ranking: the best-ranked twelve alone would not show it.
        Assert.True(planIndex >= 12, $"the plan is candidate {planIndex}");

        var result = await PlannerProcess.RunAsync(args);
        Assert.Equal(0, result.ExitCode);
        var table = result.Output[result.Output.IndexOf("Alternatives", StringComparison.Ordinal)..];
        var rows = table.Split('\n').Where(line => line.StartsWith('│')).Select(line => line.Split('│').Select(cell => cell.Trim()).ToArray()).Where(cells => cells[1] != "CLIP").ToList();
        var planRow = Assert.Single(rows, cells => cells[6].EndsWith("← plan", StringComparison.Ordinal));
        Assert.Equal(Combination(json["plan"]), Shown(planRow));
        var above = rows.IndexOf(planRow);
        Assert.True(above >= 1, "no better-ranked row above the plan");
        for (var i = 1; i <= above; i++)
        {
            var candidate = candidates[planIndex - i]!;
            Assert.Equal(Combination(candidate), Shown(rows[above - i]));
            Assert.Equal((string)candidate["verdict"]!, rows[above - i][6]);
        }

        static string Combination(JsonNode? c) => $"{(string)c!["clip"]!} {(string)c["facialRecognition"]!} {(string?)c["ocr"] ?? "off"}";
        static string Shown(string[] cells) => $"{cells[1]} {cells[2]} {cells[3]}";
    }

    [Fact]
    public async Task Nothing_fitting_exits_1_and_names_the_smallest_card()
    {
        var result = await PlannerProcess.RunAsync("fit", "--vram", "1GB");
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("No combination fits", result.Output, StringComparison.Ordinal);
        Assert.Matches(@"^planner: nothing fits in 1,024 MiB; the smallest card that would take a plan has [\d,]+ MiB\s*$", result.Error);
    }

    [Theory]
    [InlineData(new[] { "fit", "--vram", "6XB" }, "planner: --vram: '6XB' has an unknown unit")]
    [InlineData(new[] { "fit", "--vram", "lots" }, "planner: --vram: 'lots' is not a size")]
    [InlineData(new[] { "fit", "--vram", "6" }, "planner: --vram: '6' without a unit is 6 MiB, too small for a card; did you mean 6GB?")]
    [InlineData(new[] { "fit" }, "planner: Option '--vram' is required.")]
    [InlineData(new[] { "fit", "--vram", "6GB", "--concurrency", "ocr=0" }, "planner: --concurrency: 'ocr=0'")]
    [InlineData(new[] { "fit", "--vram", "6GB", "--require", "video" }, "planner: --require: unknown job 'video'")]
    [InlineData(new[] { "fit", "--vram", "6GB", "--workers", "0" }, "planner: --workers must be 1 or more")]
    [InlineData(new[] { "fit", "--vram", "6GB", "--headroom", "120%" }, "planner: --headroom: '120%' must be under 100%")]
    [InlineData(new[] { "fit", "--vram", "6GB", "--catalog", "/nonexistent/models.json" }, "planner: /nonexistent/models.json: cannot read the catalog")]
    public async Task Usage_errors_exit_2_with_one_line_and_no_stack_trace(string[] arguments, string expected)
    {
        var result = await PlannerProcess.RunAsync(arguments);
        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith(expected, result.Error, StringComparison.Ordinal);
        Assert.Single(result.Error.TrimEnd().Split('\n'));
        Assert.DoesNotContain("   at ", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_broken_catalog_names_the_entry()
    {
        var path = Path.Combine(Path.GetTempPath(), $"gpusplit-broken-{Guid.NewGuid():N}.json");
        var document = TestCatalog.Small();
        document["models"]![2]!["components"]![1]!["fileBytes"]!["value"] = -174;
        await File.WriteAllTextAsync(path, document.ToJsonString(), TestContext.Current.CancellationToken);
        try
        {
            var result = await PlannerProcess.RunAsync("fit", "--vram", "6GB", "--catalog", path);
            Assert.Equal(2, result.ExitCode);
            Assert.Equal($"planner: {path}: model 'face-big' component 'recognition' fileBytes: -174 is negative or not a number", result.Error.TrimEnd());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public async Task Help_says_that_GB_means_GiB()
    {
        var result = await PlannerProcess.RunAsync("fit", "--help");
        Assert.Equal(0, result.ExitCode);
        Assert.Contains("GB means GiB", result.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Catalog_lists_every_model_with_footprints()
    {
        var result = await PlannerProcess.RunAsync("catalog", "--json");
        Assert.Equal(0, result.ExitCode);
        var models = JsonNode.Parse(result.Output)!["models"]!.AsArray();
        Assert.True(models.Count >= 13);
        Assert.All(models, m => Assert.All(m!["components"]!.AsArray(), c => Assert.True((long)c!["estimate"]!["weightsBytes"]! > 0)));

        var table = await PlannerProcess.RunAsync("catalog");
        Assert.Contains("PP-OCRv5_mobile", table.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Models_at_hand_give_their_exact_weights()
    {
        using var folder = new TempFolder();
        var cache = folder.File("cache");
        RealModels.LayOutAsImmichCache(cache);

        var result = await PlannerProcess.RunAsync("fit", "--vram", "6GB", "--require", "ocr", "--models", cache, "--json");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("weights counted from 2 model file(s)", result.Error, StringComparison.Ordinal);
        var mobile = JsonNode.Parse(result.Output)!["candidates"]!.AsArray()
            .First(c => (string?)c!["ocr"] == "PP-OCRv5_mobile")!["components"]!.AsArray()
            .Where(c => (string?)c!["task"] == "ocr")
            .ToDictionary(c => (string)c!["type"]!, c => (long)c!["weightsMiB"]!);
        Assert.Equal(ByteSize.ToMiB(OnnxWeights.Count(RealModels.Detection)), mobile["detection"]);
        Assert.Equal(ByteSize.ToMiB(OnnxWeights.Count(RealModels.Recognition)), mobile["recognition"]);
    }

    [Fact]
    public async Task A_missing_model_cache_is_a_usage_error()
    {
        var result = await PlannerProcess.RunAsync("fit", "--vram", "6GB", "--models", "/nonexistent/cache");
        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("planner: --models: the model cache '/nonexistent/cache' does not exist", result.Error, StringComparison.Ordinal);
    }
}
