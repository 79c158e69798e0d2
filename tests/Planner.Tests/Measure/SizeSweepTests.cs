using System.Text.Json;
using System.Text.Json.Nodes;

namespace GpuSplit.Planner.Tests.Measure;

/// <summary>
/// `measure --sizes` on the real PP-OCRv4 detection model: one session fed every size the catalog says Immich sends,
/// then every size again. The catalog is the embedded one with the sweep started near the largest size, so the test
/// runs six requests instead of thirty-eight.
/// </summary>
public sealed class SizeSweepTests : IDisposable
{
    private readonly TempFolder temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public async Task The_detection_model_sees_every_size_twice_in_one_session_and_the_models_ratchet_is_reported_beside_it()
    {
        var cache = temp.File("cache");
        RealModels.LayOutAsImmichCache(cache);
        var catalog = CatalogSweepingFrom(1248);

        var result = await PlannerProcess.RunMeasureAsync(["--models", cache, "--device", "cpu", "--sizes", "--catalog", catalog,
            "--out", temp.File("measurements.json"), "--json"]);

        Assert.True(result.ExitCode == 0, result.ToString());
        using var json = JsonDocument.Parse(result.Output);
        // Recognition's input does not vary in the catalog: only detection is swept.
        var sweep = Assert.Single(json.RootElement.GetProperty("sizes").EnumerateArray());
        Assert.Equal("ocr/PP-OCRv5_mobile/detection", sweep.GetProperty("component").GetString());
        Assert.Equal(3, sweep.GetProperty("axis").GetInt32());
        var steps = sweep.GetProperty("steps").EnumerateArray().ToList();
        Assert.Equal([1, 1, 1, 2, 2, 2], steps.Select(s => s.GetProperty("pass").GetInt32()));
        Assert.Equal([1248L, 1280, 1312, 1248, 1280, 1312], steps.Select(s => s.GetProperty("size").GetInt64()));

        var afterLoad = sweep.GetProperty("afterLoadBytes").GetInt64();
        Assert.Equal(steps[2].GetProperty("afterBytes").GetInt64() - afterLoad, sweep.GetProperty("keptAfterFirstPassBytes").GetInt64());
        Assert.Equal(steps[5].GetProperty("afterBytes").GetInt64() - steps[2].GetProperty("afterBytes").GetInt64(), sweep.GetProperty("secondPassGrowthBytes").GetInt64());

        // The model's figure: the largest request, plus a share of it for each of the two smaller sizes.
        var largestRequest = steps[2].GetProperty("peakBytes").GetInt64() - afterLoad;
        Assert.True(largestRequest > 0, sweep.ToString());
        Assert.Equal(largestRequest + (largestRequest * 1248 / 1312) + (largestRequest * 1280 / 1312), sweep.GetProperty("modelKeptBytes").GetInt64());
    }

    [Fact]
    public async Task Sizes_is_refused_with_the_service()
    {
        var result = await PlannerProcess.RunAsync(["measure", "--service", "http://127.0.0.1:9", "--sizes"]);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--sizes is for --models", result.Error);
    }

    /// <summary>The repository's catalog with PP-OCRv5_mobile's detection sizes starting at <paramref name="from"/>.</summary>
    private string CatalogSweepingFrom(long from)
    {
        var catalog = JsonNode.Parse(File.ReadAllText(Path.Combine(RealModels.RepositoryRoot, "models.json")))!;
        var model = catalog["models"]!.AsArray().Single(m => (string?)m!["name"] == "PP-OCRv5_mobile")!;
        var detection = model["components"]!.AsArray().Single(c => (string?)c!["type"] == "detection")!;
        detection["input"]!["varies"]!["from"] = from;
        var path = temp.File("models.json");
        File.WriteAllText(path, catalog.ToJsonString());
        return path;
    }
}
