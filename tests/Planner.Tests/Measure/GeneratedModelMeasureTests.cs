using System.Text.Json;
using GpuSplit.Planner.Tests.Onnx;

namespace GpuSplit.Planner.Tests.Measure;

/// <summary>`planner-measure --device cpu` as a process, on generated models whose weights have a known size.</summary>
public sealed class GeneratedModelMeasureTests : IDisposable
{
    private const int N = 4096; // MatMul weight 4096 x 4096 float32 = 64 MiB
    private const long WeightBytes = (long)N * N * 4;
    private const long MiB = 1024 * 1024;

    private readonly TempFolder temp = new();

    public void Dispose() => temp.Dispose();

    /// <summary>
    /// Tolerance: the model's share must hold the weights once and not twice. Below W: 1 MiB, because the kernel's
    /// RssAnon counter may lag the exact page count by a few hundred KiB and the runtime may hand back memory of its
    /// own while the model loads. Above W it may add ONNX Runtime's session state (graph, kernels, execution plan,
    /// the intra-op thread), which does not grow with the weights: allowed 1.25 W + 16 MiB = 96 MiB, well under the
    /// 128 MiB a second copy of the weights would take. Measured on the development machine: W + 0.12 to 0.22 MiB.
    /// </summary>
    private const long Floor = WeightBytes - MiB;

    private const long Ceiling = (WeightBytes * 5 / 4) + (16 * MiB);

    [Fact]
    public async Task A_64_MiB_weight_is_counted_statically_and_measured_on_the_cpu_inline_and_external()
    {
        var cache = temp.File("cache");
        TestModels.Write(TestModels.MatMul(N), Path.Combine(cache, "clip", "matmul-inline", "visual", "model.onnx"));
        TestModels.WriteExternalMatMul(Path.Combine(cache, "clip", "matmul-external", "visual"), N);
        var catalog = MeasureCatalog.Write(temp.File("models.json"),
            MeasureCatalog.ClipModel("matmul-inline", [1, N]),
            MeasureCatalog.ClipModel("matmul-external", [1, N]));

        var result = await PlannerProcess.RunMeasureAsync(["--models", cache, "--device", "cpu", "--catalog", catalog, "--json"]);

        Assert.True(result.ExitCode == 0, result.ToString());
        using var json = JsonDocument.Parse(result.Output);
        var components = json.RootElement.GetProperty("components");
        foreach (var model in new[] { "matmul-inline", "matmul-external" })
        {
            var component = MeasureJson.Component(components, model, "visual");
            Assert.Equal(WeightBytes, component.Long("weightsBytes"));
            Assert.InRange(component.Long("share", "loadedBytes"), Floor, Ceiling);
            Assert.InRange(component.Long("share", "peakBytes"), Floor, Ceiling);
            Assert.Equal([1, N], component.GetProperty("inputs").GetProperty("X").EnumerateArray().Select(d => d.GetInt64()));
        }

        // Written next to the catalog by default, keyed "cpu", method in-process.
        using var file = JsonDocument.Parse(File.ReadAllText(temp.File("measurements.json")));
        var entry = MeasureJson.InProcessEntry(file, "cpu");
        Assert.Equal(2, entry.GetProperty("components").GetArrayLength());
        Assert.StartsWith("ONNX Runtime 1.31", entry.GetProperty("runtime").GetString());
    }

    [Fact]
    public async Task Each_bad_model_is_one_line_the_others_are_measured_and_the_exit_code_says_so()
    {
        var cache = temp.File("cache");
        TestModels.Write(TestModels.MatMul(256), Path.Combine(cache, "clip", "good", "visual", "model.onnx"));
        var truncated = TestModels.Write(TestModels.MatMul(256), Path.Combine(cache, "clip", "truncated", "visual", "model.onnx"));
        File.WriteAllBytes(truncated, File.ReadAllBytes(truncated)[..2000]);
        TestModels.Write(TestModels.MatMul(256), Path.Combine(cache, "clip", "mismatch", "visual", "model.onnx"));
        var catalog = MeasureCatalog.Write(temp.File("models.json"),
            MeasureCatalog.ClipModel("good", [1, 256]),
            MeasureCatalog.ClipModel("truncated", [1, 256]),
            MeasureCatalog.ClipModel("mismatch", [1, 3, 224, 224]));

        var result = await PlannerProcess.RunMeasureAsync(
            ["--models", cache, "--device", "cpu", "--catalog", catalog, "--json", "--only", "good,truncated,mismatch,absent"]);

        Assert.Equal(1, result.ExitCode);
        using var json = JsonDocument.Parse(result.Output);
        Assert.Equal(["good"], json.RootElement.GetProperty("components").EnumerateArray().Select(c => c.GetProperty("model").GetString()));
        var failures = result.ErrorLines.Where(l => !l.StartsWith("planner measure: measur", StringComparison.Ordinal)).ToList();
        Assert.Equal(3, failures.Count);
        Assert.Contains(failures, l => l.StartsWith("planner measure: clip/truncated/visual: ", StringComparison.Ordinal) && l.Contains("truncated ONNX file"));
        Assert.Contains(failures, l => l.StartsWith("planner measure: clip/mismatch/visual: ", StringComparison.Ordinal) && l.Contains("has 2 dimensions, the catalog's shape [1,3,224,224] has 4"));
        Assert.Contains(failures, l => l == "planner measure: --only absent: no such model in the cache (found: good, mismatch, truncated)");
        Assert.DoesNotContain("   at ", result.Error);
    }

    [Fact]
    public async Task Figures_that_cannot_be_written_are_still_shown_and_the_exit_code_says_so()
    {
        var cache = temp.File("cache");
        TestModels.Write(TestModels.MatMul(64), Path.Combine(cache, "clip", "small", "visual", "model.onnx"));
        var catalog = MeasureCatalog.Write(temp.File("models.json"), MeasureCatalog.ClipModel("small", [1, 64]));
        File.WriteAllText(temp.File("not-a-folder"), "");
        var unwritable = temp.File("not-a-folder", "measurements.json");

        var result = await PlannerProcess.RunMeasureAsync(["--models", cache, "--device", "cpu", "--catalog", catalog, "--out", unwritable]);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("clip/small/visual", result.Output);
        Assert.DoesNotContain("Merged into", result.Output);
        Assert.StartsWith($"planner measure: {unwritable}: cannot", result.ErrorLines.Last());
    }

    [Fact]
    public async Task A_missing_cache_folder_is_a_usage_error()
    {
        var result = await PlannerProcess.RunMeasureAsync(["--models", temp.File("nowhere"), "--device", "cpu"]);

        Assert.Equal(2, result.ExitCode);
        Assert.Equal($"planner-measure: --models: the model cache '{temp.File("nowhere")}' does not exist", Assert.Single(result.ErrorLines));
    }
}
