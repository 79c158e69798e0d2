using System.Text.Json.Nodes;

namespace GpuSplit.Planner.Tests.Cli;

/// <summary>`planner fit` with field reports, through the real command line: the seed's built in, `--evidence` files added.</summary>
public sealed class FitEvidenceCommandTests
{
    private const string Face = "buffalo_l";
    private const string Ocr = "PP-OCRv5_mobile";

    private static async Task<JsonNode> FitJsonAsync(params string[] extra)
    {
        var result = await PlannerProcess.RunAsync(["fit", "--vram", "6GB", "--json", .. extra]);
        Assert.True(result.ExitCode == 0, result.ToString());
        return JsonNode.Parse(result.Output)!;
    }

    private static JsonNode Candidate(JsonNode document, string clip, string face, string? ocr) => document["candidates"]!.AsArray()
        .Single(c => (string?)c!["clip"] == clip && (string?)c["facialRecognition"] == face && (string?)c["ocr"] == ocr)!;

    private static string Verdict(JsonNode document, string clip, string? ocr) => (string)Candidate(document, clip, Face, ocr)["verdict"]!;

    private static JsonObject Record(string clip, string face, string? ocr, string outcome, string source) => new()
    {
        ["gpu"] = "NVIDIA GeForce GTX 1060 6GB",
        ["vramMiB"] = 6144,
        ["workers"] = 1,
        ["concurrency"] = new JsonObject { ["smartSearch"] = 3, ["faceDetection"] = 3, ["ocr"] = 1 },
        ["clip"] = clip,
        ["facialRecognition"] = face,
        ["ocr"] = ocr,
        ["outcome"] = outcome,
        ["source"] = source,
    };

    [Fact]
    public async Task The_seeds_attempts_come_out_as_the_seed_saw_them_and_the_plan_keeps_its_headroom_after_calibration()
    {
        var document = await FitJsonAsync();

        Assert.Equal("oom", Verdict(document, "XLM-Roberta-Large-Vit-B-16Plus", Ocr));
        Assert.Contains(Verdict(document, "XLM-Roberta-Base-ViT-B-32__laion5b_s13b_b90k", Ocr), new[] { "unstable", "oom" });
        Assert.Contains(Verdict(document, "ViT-B-32__openai", Ocr), new[] { "fits", "comfortable" });
        Assert.Equal("comfortable", Verdict(document, "ViT-B-32__openai", null));
        var plan = document["plan"]!;
        Assert.True((int)plan["peakMiB"]! <= 0.9 * 6144, plan.ToJsonString());
        Assert.True((int)plan["terms"]!["calibrationMiB"]! > 0, plan.ToJsonString());
        Assert.All(document["candidates"]!.AsArray(), c => Assert.Equal(
            (int)c!["estimatedPeakMiB"]! + (int)c["terms"]!["calibrationMiB"]!, (int)c["peakMiB"]!, tolerance: 1));

        var evidence = document["evidence"]!.AsArray();
        Assert.Equal(5, evidence.Count);
        Assert.All(evidence, e =>
        {
            Assert.StartsWith("seed story", (string)e!["source"]!, StringComparison.Ordinal);
            Assert.Equal(("seed", true, (string?)null), ((string)e["origin"]!, (bool)e["used"]!, (string?)e["contradiction"]));
        });
        var calibration = document["calibration"]!;
        Assert.Equal((5, 0), ((int)calibration["records"]!, (int)calibration["contradictions"]!));
        Assert.Contains("attempt 2", (string)calibration["setBy"]![0]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Two_workers_of_the_seeds_shipped_models_run_out_of_memory()
    {
        var document = await FitJsonAsync("--workers", "2");

        var attempt3 = Candidate(document, "ViT-B-32__openai", Face, Ocr);
        Assert.Equal(("oom", "evidence"), ((string)attempt3["verdict"]!, (string)attempt3["verdictOrigin"]!));
        Assert.Contains("2 workers OOMed", (string)attempt3["failedOn"]!["source"]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_oom_record_for_the_plans_own_combination_moves_the_plan_and_makes_it_oom()
    {
        var before = (await FitJsonAsync())["plan"]!;
        var (clip, face, ocr) = ((string)before["clip"]!, (string)before["facialRecognition"]!, (string?)before["ocr"]);
        using var folder = new TempFolder();
        var file = folder.File("mine.json");
        await File.WriteAllTextAsync(file, new JsonArray(Record(clip, face, ocr, "oom", "my GTX 1060, 2026-12-01")).ToJsonString(), TestContext.Current.CancellationToken);

        var result = await PlannerProcess.RunAsync("fit", "--vram", "6GB", "--json", "--evidence", file);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal($"planner fit: 1 field report(s) from {file}", result.Error.TrimEnd());
        var document = JsonNode.Parse(result.Output)!;
        var after = document["plan"]!;
        Assert.NotEqual((clip, face, ocr), ((string)after["clip"]!, (string)after["facialRecognition"]!, (string?)after["ocr"]));
        var failed = Candidate(document, clip, face, ocr);
        Assert.Equal(("oom", "evidence", file), ((string)failed["verdict"]!, (string)failed["verdictOrigin"]!, (string)failed["failedOn"]!["from"]!));
        var mine = document["evidence"]!.AsArray().Single(e => (string?)e!["origin"] == "file")!;
        Assert.Equal(("my GTX 1060, 2026-12-01", file, true), ((string)mine["source"]!, (string)mine["from"]!, (bool)mine["setsCalibration"]!));
        Assert.True((int)after["terms"]!["calibrationMiB"]! > (int)before["terms"]!["calibrationMiB"]! || after["ocr"] is null);
    }

    [Fact]
    public async Task A_record_that_contradicts_the_seed_is_printed_as_such()
    {
        using var folder = new TempFolder();
        var file = folder.File("contradicts.json");
        await File.WriteAllTextAsync(file, Record("XLM-Roberta-Base-ViT-B-32__laion5b_s13b_b90k", Face, Ocr, "works", "a forum post").ToJsonString(),
            TestContext.Current.CancellationToken);

        var result = await PlannerProcess.RunAsync("fit", "--vram", "6GB", "--evidence", file);

        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Contains("Free after calibration: ", result.Output, StringComparison.Ordinal);
        Assert.Contains("6 field reports (seed story 5, --evidence 1)", result.Output, StringComparison.Ordinal);
        var lines = result.Output.Split('\n');
        var index = Array.FindIndex(lines, l => l.Contains("Source: a forum post", StringComparison.Ordinal));
        Assert.True(index >= 0, result.Output);
        Assert.StartsWith("    contradiction: it held on 6,144 MiB, but 'seed story, attempt 2", lines[index + 1], StringComparison.Ordinal);
        Assert.Contains("ran out of memory with the same models", lines[index + 1], StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("[{\"gpu\": \"x\"}]", "record #1: outcome must be a non-empty string")]
    [InlineData("{", "not valid JSON (line 1:")]
    public async Task A_malformed_evidence_file_is_one_line_and_exit_2(string json, string expected)
    {
        using var folder = new TempFolder();
        var file = folder.File("bad.json");
        await File.WriteAllTextAsync(file, json, TestContext.Current.CancellationToken);

        var result = await PlannerProcess.RunAsync("fit", "--vram", "6GB", "--evidence", file);

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith($"planner: --evidence: {file}: {expected}", result.Error, StringComparison.Ordinal);
        Assert.Single(result.ErrorLines);
        Assert.DoesNotContain("   at ", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_missing_evidence_file_is_a_usage_error()
    {
        var result = await PlannerProcess.RunAsync("fit", "--vram", "6GB", "--evidence", "/nonexistent/mine.json");

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("planner: --evidence: /nonexistent/mine.json: cannot read the evidence", result.Error, StringComparison.Ordinal);
        Assert.Single(result.ErrorLines);
    }
}
