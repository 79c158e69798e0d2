using System.Text.Json;
using System.Text.Json.Nodes;
using GpuSplit.Planner.Measure;

namespace GpuSplit.Planner.Tests.Measure;

public sealed class MeasurementsFileTests : IDisposable
{
    private static readonly DateTimeOffset Monday = new(2026, 11, 23, 10, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset Tuesday = Monday.AddDays(1);

    private readonly TempFolder temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public void A_run_merges_by_device_method_and_component_and_keeps_everything_else()
    {
        var path = temp.File("measurements.json");
        MeasurementsFile.Merge(path, Run("cpu", Monday, ("PP-OCRv5_mobile", "detection", 100), ("PP-OCRv5_mobile", "recognition", 200)));
        MeasurementsFile.Merge(path, Run("NVIDIA GeForce GTX 1060 6GB", Monday, ("buffalo_l", "detection", 300)));

        MeasurementsFile.Merge(path, Run("cpu", Tuesday, ("PP-OCRv5_mobile", "recognition", 222)));

        var document = MeasurementsFile.Load(path);
        Assert.Equal(["NVIDIA GeForce GTX 1060 6GB", "cpu"], document.Devices.Keys);
        var cpu = Assert.Single(document.Devices["cpu"]);
        Assert.Equal("in-process", cpu.Method);
        Assert.Equal(Tuesday, cpu.MeasuredAt);
        Assert.Equal(
            [("detection", 100L, Monday), ("recognition", 222L, Tuesday)],
            cpu.Components.Select(c => (c.Type, c.Share.PeakBytes, c.MeasuredAt)));
        Assert.Equal(300, Assert.Single(Assert.Single(document.Devices["NVIDIA GeForce GTX 1060 6GB"]).Components).Share.PeakBytes);
    }

    [Fact]
    public void A_service_entry_written_by_another_method_survives_an_in_process_merge_field_for_field()
    {
        // The shape `planner measure --service` writes: same device key, its own method and fields.
        var path = temp.File("measurements.json");
        var service = new JsonObject
        {
            ["method"] = "service",
            ["runtime"] = "ghcr.io/immich-app/immich-machine-learning:v2.3.1-cuda",
            ["image"] = "ghcr.io/immich-app/immich-machine-learning:v2.3.1-cuda",
            ["measuredAt"] = Monday,
            ["components"] = new JsonArray(new JsonObject { ["model"] = "buffalo_l", ["type"] = "recognition", ["share"] = new JsonObject { ["peakBytes"] = 400 }, ["burst"] = new JsonObject { ["concurrency"] = 3 } }),
        };
        File.WriteAllText(path, new JsonObject
        {
            ["schemaVersion"] = 1,
            ["devices"] = new JsonObject { ["NVIDIA GeForce GTX 1060 6GB"] = new JsonArray(service) },
        }.ToJsonString());

        MeasurementsFile.Merge(path, Run("NVIDIA GeForce GTX 1060 6GB", Tuesday, ("buffalo_l", "recognition", 350)));

        using var file = JsonDocument.Parse(File.ReadAllText(path));
        var entries = file.RootElement.GetProperty("devices").GetProperty("NVIDIA GeForce GTX 1060 6GB");
        Assert.Equal(["service", "in-process"], entries.EnumerateArray().Select(e => e.GetProperty("method").GetString()));
        var kept = entries[0];
        Assert.Equal("ghcr.io/immich-app/immich-machine-learning:v2.3.1-cuda", kept.GetProperty("image").GetString());
        Assert.Equal(3, kept.GetProperty("components")[0].GetProperty("burst").GetProperty("concurrency").GetInt32());
        Assert.Equal(400, kept.GetProperty("components")[0].GetProperty("share").GetProperty("peakBytes").GetInt64());
        Assert.Equal(350, entries[1].GetProperty("components")[0].GetProperty("share").GetProperty("peakBytes").GetInt64());
    }

    [Fact]
    public void A_file_that_is_not_a_measurements_file_is_reported_and_left_alone()
    {
        var path = temp.File("measurements.json");
        File.WriteAllText(path, "{ \"devices\": [1, 2");

        var error = Assert.Throws<MeasureException>(() => MeasurementsFile.Merge(path, Run("cpu", Monday, ("m", "visual", 1))));

        Assert.StartsWith($"{path}: not a measurements file (line 1", error.Message);
        Assert.Equal("{ \"devices\": [1, 2", File.ReadAllText(path));
    }

    [Fact]
    public void The_default_file_sits_next_to_the_catalog()
    {
        Assert.Equal(temp.File("measurements.json"), MeasurementsFile.DefaultPath(new FileInfo(temp.File("models.json"))));
        Assert.Equal(Path.Combine(AppContext.BaseDirectory, "measurements.json"), MeasurementsFile.DefaultPath(null));
    }

    private static MeasureRun Run(string device, DateTimeOffset at, params (string Model, string Type, long PeakShare)[] components) => new(
        device,
        MeasureRun.InProcess,
        "ONNX Runtime 1.31.0",
        "test readings",
        at,
        1000,
        [.. components.Select(c => new ComponentMeasurement(
            c.Model, "ocr", c.Type, $"/cache/{c.Model}/{c.Type}/model.onnx", 10, 8, [new PlannedInput("x", "float32", [1, 3])],
            new ProcessReadings(1000, 1050, 1060, 1000 + c.PeakShare, null), TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2)))],
        []);
}
