using System.Text.Json;
using GpuSplit.Planner.Cli;
using static GpuSplit.Planner.Tests.Onnx.TestModels;

namespace GpuSplit.Planner.Tests.Onnx;

public sealed class InspectCommandTests : IDisposable
{
    private readonly TempFolder temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public async Task Prints_weights_shapes_and_opset()
    {
        var path = Write(MatMul(512), temp.File("model.onnx"));

        var (code, output, error) = await Run("inspect", path);

        Assert.Equal(0, code);
        Assert.Equal("", error);
        Assert.Contains("weights    1 MiB (1,048,576 bytes) in 1 tensor", output);
        Assert.Contains("inputs     X: float32[batch, 512]", output);
        Assert.Contains("opsets     ai.onnx 17", output);
    }

    [Fact]
    public async Task Json_carries_symbolic_dimensions_by_name()
    {
        var path = Write(MatMul(512), temp.File("model.onnx"));

        var (code, output, _) = await Run("inspect", path, "--json");

        Assert.Equal(0, code);
        using var json = JsonDocument.Parse(output);
        Assert.Equal(1_048_576, json.RootElement.GetProperty("weights").GetProperty("totalBytes").GetInt64());
        var shape = json.RootElement.GetProperty("inputs")[0].GetProperty("shape");
        Assert.Equal("batch", shape[0].GetString());
        Assert.Equal(512, shape[1].GetInt32());
        Assert.Equal(17, json.RootElement.GetProperty("opset").GetInt32());
    }

    [Fact]
    public async Task A_truncated_file_is_one_line_on_stderr_and_exit_2()
    {
        var path = Write(MatMul(512), temp.File("model.onnx"));
        File.WriteAllBytes(path, File.ReadAllBytes(path)[..4000]);

        var (code, output, error) = await Run("inspect", path);

        Assert.Equal(2, code);
        Assert.Equal("", output);
        Assert.StartsWith("planner inspect: ", error);
        Assert.Contains("truncated", error);
        Assert.Single(error.TrimEnd().Split('\n'));
    }

    private static async Task<(int Code, string Output, string Error)> Run(params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await PlannerCli.RunAsync(args, output, error);
        return (code, output.ToString(), error.ToString());
    }
}
