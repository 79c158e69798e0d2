using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using GpuSplit.Planner.Catalog;
using GpuSplit.Planner.Memory;
using GpuSplit.Planner.Onnx;
using GpuSplit.Planner.Units;

namespace GpuSplit.Bench.Planner;

/// <summary>
/// `planner-measure --device cpu` on the real PP-OCRv4 models (scripts/setup-test-host.sh fetches them), laid out
/// as Immich's PP-OCRv5_mobile: the memory model's prediction next to the measured figure, and how long a
/// measurement takes.
/// </summary>
public sealed class MeasureBenchmark : IBenchmark
{
    private const int Runs = 5;
    private const string Model = "PP-OCRv5_mobile";

    public string Name => "planner-measure";

    public async Task<BenchmarkReport> RunAsync(CancellationToken cancellationToken)
    {
        var assets = Path.Combine(Repository.Root(), ".cache", "models", "ocr-models", "package", "assets");
        var files = new Dictionary<ComponentType, string>
        {
            [ComponentType.Detection] = Path.Combine(assets, "ch_PP-OCRv4_det_infer.onnx"),
            [ComponentType.Recognition] = Path.Combine(assets, "ch_PP-OCRv4_rec_infer.onnx"),
        };
        if (files.Values.FirstOrDefault(f => !File.Exists(f)) is { } missing)
        {
            throw new FileNotFoundException($"{missing} is missing; run scripts/setup-test-host.sh first", missing);
        }

        var work = Directory.CreateTempSubdirectory("gpusplit-bench-measure-");
        try
        {
            var cache = Path.Combine(work.FullName, "cache");
            foreach (var (type, file) in files)
            {
                var folder = Path.Combine(cache, ModelTask.Ocr.WireName(), Model, type.WireName());
                Directory.CreateDirectory(folder);
                File.Copy(file, Path.Combine(folder, "model.onnx"));
            }

            var runs = new List<Run>();
            for (var i = 0; i < Runs; i++)
            {
                runs.Add(await MeasureOnceAsync(cache, Path.Combine(work.FullName, "measurements.json"), cancellationToken));
            }

            return Report(runs, files);
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    private static BenchmarkReport Report(List<Run> runs, Dictionary<ComponentType, string> files)
    {
        var model = CatalogReader.LoadEmbedded().Find(Model) ?? throw new InvalidOperationException($"{Model} is not in the catalog");

        // On a CPU there is no cuDNN: the convolution workspace term of the CUDA costs is left out.
        var costs = RuntimeCosts.Cuda with { ConvWorkspaceBytes = 0 };
        var rows = new List<IReadOnlyList<string>>();
        foreach (var (type, file) in files)
        {
            var load = ComponentLoads.For(model, model.Component(type)!, gpu: null, costs);
            var measured = runs.Select(r => r.Components[type]).ToList();
            var loaded = measured.Select(m => (double)m.LoadedBytes).ToList();
            var peak = measured.Select(m => (double)m.PeakBytes).ToList();
            var predictedPeak = load.WeightsBytes + load.PerRequestBytes;
            rows.Add(
            [
                $"{type.WireName()} {measured[0].Input}",
                MiB(OnnxWeights.Count(file)),
                MiB(load.WeightsBytes),
                Spread(loaded),
                Error(load.WeightsBytes, Stats.Median(loaded)),
                MiB(predictedPeak),
                Spread(peak),
                Error(predictedPeak, Stats.Median(peak)),
                Milliseconds(measured.Select(m => m.LoadSeconds)),
                Milliseconds(measured.Select(m => m.RunSeconds)),
            ]);
        }

        var wall = runs.Select(r => r.WallMilliseconds).ToList();
        return new BenchmarkReport(
            "planner-measure on the real PP-OCRv4 models, CPU: prediction against measurement",
            ["component", "static weights MiB", "predicted weights MiB", "measured loaded MiB", "error", "predicted peak MiB", "measured peak MiB", "error", "load ms", "run ms"],
            rows,
            [
                $"{Runs} runs of `planner-measure --models CACHE --device cpu --json`, each a fresh process measuring both components; measured figures are the median with the range of the {Runs} runs in brackets.",
                $"One whole measurement run (process start, bare context, both components, file merge): median {Stats.Median(wall):0} ms, p90 {Stats.Percentile(wall, 0.9):0} ms (the machine's 2 cores are shared, so times vary more than memory).",
                "Measured: the model's share of this process's private memory (RssAnon), loaded = after the session is created, peak = highest during one request at the catalog's Immich shape, both minus the process just before the model loaded.",
                "Predicted: the memory model's terms for the catalog's PP-OCRv5_mobile entry (weights = the catalog's file size, peak = weights + activations; the CUDA-only cuDNN workspace term left out). Error = (predicted - measured) / measured.",
                "The PP-OCRv4 files stand in for PP-OCRv5_mobile (same architecture family). The catalog's OCR activation figures were themselves measured on these files on CPU, so the peak column checks consistency, not an independent prediction. Static weights are OnnxWeights.Count on the file.",
                "The catalog's PP-OCRv5 mobile recognition file (16.6 MB) is larger than PP-OCRv4's (10.8 MB): part of that row's weights error is the stand-in, not the model.",
                "On the CPU ONNX Runtime holds about three times the raw weights once loaded (its own copies and pre-packed kernels). On a GPU the CUDA arena should hold the initializers once (kSameAsRequested); that is not measured here (no GPU), so the loaded error above says nothing about VRAM.",
            ]);
    }

    private static async Task<Run> MeasureOnceAsync(string cache, string measurements, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { Path.Combine(AppContext.BaseDirectory, "planner-measure.dll"), "--models", cache, "--device", "cpu", "--json", "--out", measurements })
        {
            start.ArgumentList.Add(argument);
        }

        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start planner-measure");
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        var wall = clock.Elapsed.TotalMilliseconds;
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"planner-measure failed (exit {process.ExitCode}): {await error}");
        }

        using var json = JsonDocument.Parse(await output);
        var components = new Dictionary<ComponentType, Measured>();
        foreach (var c in json.RootElement.GetProperty("components").EnumerateArray())
        {
            CatalogNames.TryParseComponent(c.GetProperty("type").GetString(), out var type);
            components[type] = new Measured(
                string.Join(",", c.GetProperty("inputs").EnumerateObject().Select(i => $"[{string.Join(",", i.Value.EnumerateArray().Select(d => d.GetInt64()))}]")),
                c.GetProperty("share").GetProperty("loadedBytes").GetInt64(),
                c.GetProperty("share").GetProperty("peakBytes").GetInt64(),
                c.GetProperty("loadSeconds").GetDouble(),
                c.GetProperty("runSeconds").GetDouble());
        }

        return new Run(wall, components);
    }

    /// <summary>The file records seconds to the millisecond; more digits would be noise.</summary>
    private static string Milliseconds(IEnumerable<double> seconds) =>
        (Stats.Median(seconds.ToList()) * 1000).ToString("0", CultureInfo.InvariantCulture);

    private static string MiB(double bytes) => (bytes / ByteSize.MiB).ToString("0.0", CultureInfo.InvariantCulture);

    private static string Spread(IReadOnlyCollection<double> values) =>
        $"{MiB(Stats.Median(values))} ({MiB(values.Min())}-{MiB(values.Max())})";

    private static string Error(double predicted, double measured) =>
        ((predicted - measured) / measured).ToString("+0%;-0%", CultureInfo.InvariantCulture);

    private sealed record Measured(string Input, long LoadedBytes, long PeakBytes, double LoadSeconds, double RunSeconds);

    private sealed record Run(double WallMilliseconds, Dictionary<ComponentType, Measured> Components);
}
