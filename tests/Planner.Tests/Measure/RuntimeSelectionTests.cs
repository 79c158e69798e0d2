using System.Text.Json;
using GpuSplit.Planner.Tests.Onnx;
using GpuSplit.Testing;

namespace GpuSplit.Planner.Tests.Measure;

/// <summary>
/// Choosing the runtime and the GPU: --ort-library, and the CUDA path up to the point this machine (no GPU, no
/// CUDA) can take it, with the real NVML binding reading the fake NVML library.
/// </summary>
public sealed class RuntimeSelectionTests : IDisposable
{
    private readonly TempFolder temp = new();
    private readonly string cache;
    private readonly string catalog;

    public RuntimeSelectionTests()
    {
        cache = temp.File("cache");
        TestModels.Write(TestModels.MatMul(64), Path.Combine(cache, "clip", "small", "visual", "model.onnx"));
        catalog = MeasureCatalog.Write(temp.File("models.json"), MeasureCatalog.ClipModel("small", [1, 64]));
    }

    public void Dispose() => temp.Dispose();

    [Fact]
    public async Task An_ort_library_with_a_too_old_c_api_is_refused_in_one_line()
    {
        var library = FakeOrtLibrary.Build(temp.Path);

        var result = await Measure("--device", "cpu", "--ort-library", library);

        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.ErrorLines);
        Assert.Contains("is ONNX Runtime 1.16.3, which does not offer C API version 31", line);
        Assert.Contains("1.31 or later", line);
    }

    [Fact]
    public async Task A_missing_or_foreign_ort_library_is_refused_in_one_line()
    {
        var text = temp.File("libonnxruntime.so");
        File.WriteAllText(text, "not a library");

        var missing = await Measure("--device", "cpu", "--ort-library", temp.File("absent.so"));
        var foreign = await Measure("--device", "cpu", "--ort-library", text);

        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("does not exist", Assert.Single(missing.ErrorLines));
        Assert.Equal(1, foreign.ExitCode);
        Assert.Contains("is not a shared library this system can load", Assert.Single(foreign.ErrorLines));
    }

    [Fact]
    public async Task A_compatible_ort_library_is_used_instead_of_the_bundled_one()
    {
        // A copy of the bundled library under another name: the run must load it through the path given.
        var library = temp.File("custom", "libonnxruntime-custom.so");
        Directory.CreateDirectory(Path.GetDirectoryName(library)!);
        File.Copy(Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libonnxruntime.so"), library);

        var result = await Measure("--device", "cpu", "--ort-library", library, "--json");

        Assert.True(result.ExitCode == 0, result.ToString());
        using var json = JsonDocument.Parse(result.Output);
        Assert.Equal($"ONNX Runtime 1.31.0 from {library}", json.RootElement.GetProperty("runtime").GetString());
    }

    [Fact]
    public async Task A_pascal_card_is_refused_before_cuda_with_the_card_its_capability_and_the_fix()
    {
        using var nvml = FakeNvml.ForChildProcess(FakeNvmlState.OneGtx1060());

        var result = await Measure(nvml, "--device", "cuda:0");

        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.ErrorLines);
        Assert.Contains("NVIDIA GeForce GTX 1060 6GB has CUDA compute capability 6.1", line);
        Assert.Contains("--ort-library", line);
        Assert.Contains("CMAKE_CUDA_ARCHITECTURES=61", line);
    }

    [Fact]
    public async Task A_supported_card_passes_the_check_and_a_machine_without_cuda_says_so_in_one_line()
    {
        var state = new FakeNvmlState { Devices = [new FakeGpu { Name = "NVIDIA GeForce RTX 3060", ComputeMajor = 8, ComputeMinor = 6 }] };
        using var nvml = FakeNvml.ForChildProcess(state);

        var result = await Measure(nvml, "--device", "cuda:0");

        Assert.DoesNotContain("compute capability", result.Error);
        Assert.DoesNotContain("   at ", result.Error);
        if (result.ExitCode != 0)
        {
            // No CUDA libraries here: ONNX Runtime's CUDA provider cannot load, reported once, cleanly.
            Assert.Equal(1, result.ExitCode);
            Assert.StartsWith("planner measure: ONNX Runtime cannot start on cuda:0 (its CUDA provider needs", result.ErrorLines.Last());
        }
    }

    [Fact]
    public async Task An_ort_library_lifts_the_capability_check()
    {
        using var nvml = FakeNvml.ForChildProcess(FakeNvmlState.OneGtx1060());
        var bundled = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libonnxruntime.so");

        var result = await Measure(nvml, "--device", "cuda:0", "--ort-library", bundled);

        Assert.DoesNotContain("compute capability", result.Error);
        Assert.DoesNotContain("   at ", result.Error);
    }

    [Fact]
    public async Task No_nvidia_driver_and_a_missing_gpu_index_are_one_line_each()
    {
        using var nvml = FakeNvml.ForChildProcess(FakeNvmlState.OneGtx1060());

        var noDriver = await Measure("--device", "cuda:0", "--nvml-library", temp.File("libnvidia-ml.so.1"));
        var noSuchGpu = await Measure(nvml, "--device", "cuda:1");

        Assert.Equal(1, noDriver.ExitCode);
        Assert.Contains("with --device cpu", Assert.Single(noDriver.ErrorLines));
        Assert.Equal(1, noSuchGpu.ExitCode);
        Assert.Equal("planner measure: cuda:1: this machine has 1 NVIDIA GPU (cuda:0 to cuda:0)", Assert.Single(noSuchGpu.ErrorLines));
    }

    private Task<PlannerProcess.Result> Measure(params string[] args) => Measure(null, args);

    private Task<PlannerProcess.Result> Measure(FakeNvml? nvml, params string[] args)
    {
        string[] all = ["--models", cache, "--catalog", catalog, "--out", temp.File("measurements.json"), .. args];
        if (nvml is not null)
        {
            all = [.. all, "--nvml-library", FakeNvml.LibraryPath];
        }

        return PlannerProcess.RunMeasureAsync(all, nvml?.Environment);
    }
}
