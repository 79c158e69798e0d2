using GpuSplit.Protos.Onnx;
using static GpuSplit.Planner.Tests.Onnx.TestModels;

namespace GpuSplit.Planner.Tests.Cli;

/// <summary>
/// The planner program, run as a process, fed broken files: a truncated, garbage or lying .onnx, a malformed
/// catalog or measurements file, a folder where a file belongs. Each is one line on standard error and exit 2,
/// never a stack trace, a hang or an allocation as large as a length field claims.
/// </summary>
public sealed class BadInputTests : IDisposable
{
    private readonly TempFolder temp = new();

    public void Dispose() => temp.Dispose();

    public static TheoryData<string, string> BrokenModels => new()
    {
        { "truncated", "truncated" },
        { "garbage", "model.onnx: " },
        { "text", "not a valid ONNX model" },
        { "empty", "the file is empty" },
        { "huge-length", "truncated" },
        { "huge-inner-length", "truncated" },
        { "huge-name", "more than the 16 MiB one may take" },
        { "huge-dims", "too large" },
        { "external-offset-overflow", "external data file" },
        { "directory", "is a folder, not a file" },
        { "missing", "no such file" },
    };

    [Theory]
    [MemberData(nameof(BrokenModels))]
    public async Task Inspect_a_broken_model_file(string kind, string expected)
    {
        var path = BrokenModel(kind, temp.File("m", "model.onnx"));

        var result = await PlannerProcess.RunAsync("inspect", path);

        AssertOneLineError(result, "planner inspect: ", expected);
    }

    [Theory]
    [InlineData("garbage")]
    [InlineData("huge-length")]
    [InlineData("huge-dims")]
    public async Task Fit_with_a_broken_model_in_the_cache_says_so_in_one_line_and_plans_with_the_catalog_size(string kind)
    {
        var cache = temp.File("cache");
        BrokenModel(kind, Path.Combine(cache, "clip", "ViT-B-32__openai", "visual", "model.onnx"));

        var result = await PlannerProcess.RunAsync("fit", "--vram", "6GB", "--models", cache);

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("Plan: ", result.Output, StringComparison.Ordinal);
        var warning = Assert.Single(result.Error.Split('\n'), l => l.Contains("model.onnx", StringComparison.Ordinal));
        Assert.EndsWith("the catalog's file size is used instead", warning.TrimEnd(), StringComparison.Ordinal);
        AssertNoTrace(result.Error);
    }

    [Fact]
    public async Task Fit_with_a_file_where_the_model_cache_folder_belongs()
    {
        var file = temp.File("cache.onnx");
        File.WriteAllText(file, "not a folder");

        AssertOneLineError(await PlannerProcess.RunAsync("fit", "--vram", "6GB", "--models", file), "planner: --models: ", "is a file, not a folder");
        AssertOneLineError(await PlannerProcess.RunAsync("fit", "--vram", "6GB", "--models", temp.File("absent")), "planner: --models: ", "does not exist");
    }

    public static TheoryData<string, string> BrokenCatalogs => new()
    {
        { "{\"models\": [", "not valid JSON" },
        { "\u0000\u0001garbage", "not valid JSON" },
        { "[]", "the top level must be an object" },
        { "{\"models\": {}}", "\"models\" must be an array" },
        { "", "not valid JSON" },
    };

    [Theory]
    [MemberData(nameof(BrokenCatalogs))]
    public async Task Fit_with_a_malformed_catalog(string text, string expected)
    {
        var file = temp.File("models.json");
        File.WriteAllText(file, text);

        AssertOneLineError(await PlannerProcess.RunAsync("fit", "--vram", "6GB", "--catalog", file), "planner: ", expected);
    }

    [Fact]
    public async Task Fit_and_catalog_with_a_folder_or_nothing_where_the_catalog_belongs()
    {
        AssertOneLineError(await PlannerProcess.RunAsync("fit", "--vram", "6GB", "--catalog", temp.Path), "planner: ", "is a folder, not a file");
        AssertOneLineError(await PlannerProcess.RunAsync("catalog", "--catalog", temp.Path), "planner: ", "is a folder, not a file");
        AssertOneLineError(await PlannerProcess.RunAsync("fit", "--vram", "6GB", "--catalog", temp.File("absent.json")), "planner: ", "cannot read the catalog");
    }

    public static TheoryData<string, string> BrokenMeasurements => new()
    {
        { "{\"schemaVersion\": 1, \"devices\": ", "not a measurements file" },
        { "[1, 2, 3]", "not a measurements file" },
        { "{\"schemaVersion\": \"one\"}", "not a measurements file" },
        { "{\"schemaVersion\": 99}", "schema version 99" },
        { "null", "empty measurements file" },
        { "", "not a measurements file" },
    };

    [Theory]
    [MemberData(nameof(BrokenMeasurements))]
    public async Task Fit_with_a_malformed_measurements_file(string text, string expected)
    {
        var file = temp.File("measurements.json");
        File.WriteAllText(file, text);

        AssertOneLineError(await PlannerProcess.RunAsync("fit", "--vram", "6GB", "--measurements", file), "planner: --measurements: ", expected);
    }

    [Fact]
    public async Task Fit_with_a_folder_or_nothing_where_the_measurements_file_belongs()
    {
        AssertOneLineError(await PlannerProcess.RunAsync("fit", "--vram", "6GB", "--measurements", temp.Path), "planner: --measurements: ", "is a folder, not a file");
        AssertOneLineError(await PlannerProcess.RunAsync("fit", "--vram", "6GB", "--measurements", temp.File("absent.json")), "planner: --measurements: ", "does not exist");
    }

    /// <summary>Writes the broken model <paramref name="kind"/> at <paramref name="path"/>; returns the path to give the planner.</summary>
    private string BrokenModel(string kind, string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        switch (kind)
        {
            case "truncated":
                Write(MatMul(64), path);
                File.WriteAllBytes(path, File.ReadAllBytes(path)[..4000]);
                break;
            case "garbage":
                var noise = new byte[64 * 1024];
                new Random(16).NextBytes(noise);
                File.WriteAllBytes(path, noise);
                break;
            case "text":
                File.WriteAllText(path, "version https://git-lfs.github.com/spec/v1\noid sha256:0\nsize 351466012\n");
                break;
            case "empty":
                File.WriteAllBytes(path, []);
                break;
            case "huge-length":
                // ModelProto.graph (field 7, length-delimited) claiming 2^63-1 bytes, then four.
                File.WriteAllBytes(path, [0x3A, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x7F, 1, 2, 3, 4]);
                break;
            case "huge-inner-length":
                // A graph of 12 bytes whose first initializer (field 5) claims 2^62 of them; the file is longer than the graph.
                File.WriteAllBytes(path, [0x3A, 12, 0x2A, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x40, 0, 0, .. new byte[64]]);
                break;
            case "huge-name":
                // ModelProto.producer_name (field 2) of 20 MiB, all there: read whole, it would be allocated whole.
                File.WriteAllBytes(path, [0x12, 0x80, 0x80, 0x80, 0x0A, .. new byte[20 << 20]]);
                break;
            case "huge-dims":
                var model = MatMul(4);
                model.Graph.Initializer.Add(RawTensor("V", TensorProto.Types.DataType.Float, new byte[16], 1L << 40, 1L << 40));
                Write(model, path);
                break;
            case "external-offset-overflow":
                var external = MatMul(4);
                external.Graph.Initializer.Clear();
                external.Graph.Initializer.Add(ExternalTensor("W", TensorProto.Types.DataType.Float, "model.onnx.data", long.MaxValue - 8, 64, 4, 4));
                Write(external, path);
                File.WriteAllBytes(Path.Combine(Path.GetDirectoryName(path)!, "model.onnx.data"), new byte[128]);
                break;
            case "directory":
                Directory.CreateDirectory(path);
                break;
            case "missing":
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, null);
        }

        return path;
    }

    private static void AssertOneLineError(PlannerProcess.Result result, string prefix, string expected)
    {
        Assert.True(result.ExitCode == 2, $"exit {result.ExitCode}, expected 2; stderr: {result.Error}");
        Assert.Equal("", result.Output);
        AssertNoTrace(result.Error);
        var line = Assert.Single(result.Error.TrimEnd().Split('\n'));
        Assert.StartsWith(prefix, line, StringComparison.Ordinal);
        Assert.Contains(expected, line, StringComparison.Ordinal);
    }

    private static void AssertNoTrace(string error)
    {
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", error, StringComparison.Ordinal);
    }
}
