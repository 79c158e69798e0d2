using System.Text.Json;

namespace GpuSplit.Planner.Tests.Measure;

/// <summary>
/// The proof on real models: PaddleOCR's PP-OCRv4 detection and recognition (from npm) laid out as an Immich
/// cache in place of PP-OCRv5_mobile, measured by the real CLI against the embedded catalog's shapes.
/// </summary>
public sealed class RealModelMeasureTests : IDisposable
{
    private readonly TempFolder temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public async Task Every_component_is_measured_at_least_at_its_weight_and_a_second_run_merges()
    {
        var cache = temp.File("cache");
        RealModels.LayOutAsImmichCache(cache);
        var measurements = temp.File("measurements.json");

        var result = await PlannerProcess.RunMeasureAsync(["--models", cache, "--device", "cpu", "--out", measurements, "--json"]);

        Assert.True(result.ExitCode == 0, result.ToString());
        using var json = JsonDocument.Parse(result.Output);
        var components = json.RootElement.GetProperty("components");
        Assert.Equal(2, components.GetArrayLength());
        foreach (var type in new[] { "detection", "recognition" })
        {
            var component = MeasureJson.Component(components, "PP-OCRv5_mobile", type);
            var weights = component.Long("weightsBytes");
            Assert.InRange(weights, 4_000_000, component.Long("fileBytes"));
            Assert.True(component.Long("share", "loadedBytes") >= weights, $"{type}: loaded share below the weights: {component}");
            Assert.True(component.Long("share", "peakBytes") >= weights, $"{type}: peak share below the weights: {component}");
            Assert.True(component.Long("process", "peakBytes") >= component.Long("process", "afterLoadBytes"));
        }

        // The catalog's Immich shapes, with the models' dynamic dimensions resolved.
        Assert.Equal([1, 3, 736, 1312], Shape(MeasureJson.Component(components, "PP-OCRv5_mobile", "detection")));
        Assert.Equal([6, 3, 48, 320], Shape(MeasureJson.Component(components, "PP-OCRv5_mobile", "recognition")));

        var first = File.ReadAllText(measurements);
        var again = await PlannerProcess.RunMeasureAsync(["--models", cache, "--device", "cpu", "--out", measurements, "--only", "PP-OCRv5_mobile/recognition"]);
        Assert.True(again.ExitCode == 0, again.ToString());
        Assert.Contains("ocr/PP-OCRv5_mobile/recognition", again.Output);
        Assert.DoesNotContain("ocr/PP-OCRv5_mobile/detection", again.Output);
        using var merged = JsonDocument.Parse(File.ReadAllText(measurements));
        using var before = JsonDocument.Parse(first);
        var mergedComponents = MeasureJson.InProcessEntry(merged, "cpu").GetProperty("components");
        Assert.Equal(2, mergedComponents.GetArrayLength());
        Assert.Equal(
            MeasureJson.Component(MeasureJson.InProcessEntry(before, "cpu").GetProperty("components"), "PP-OCRv5_mobile", "detection").GetRawText(),
            MeasureJson.Component(mergedComponents, "PP-OCRv5_mobile", "detection").GetRawText());
    }

    private static long[] Shape(JsonElement component) =>
        component.GetProperty("inputs").GetProperty("x").EnumerateArray().Select(d => d.GetInt64()).ToArray();
}
