namespace GpuSplit.Planner.Tests.Cli;

/// <summary>fit, catalog and inspect are a calculator: the planner carries no ONNX Runtime, planner-measure does.</summary>
public sealed class WithoutOnnxRuntimeTests
{
    [Fact]
    public void The_planner_depends_on_no_ONNX_Runtime_package()
    {
        var dependencies = File.ReadAllText(Path.Combine(PlannerProcess.Directory, "planner.deps.json"));
        Assert.DoesNotContain("OnnxRuntime", dependencies, StringComparison.OrdinalIgnoreCase);
        // Files, not the folder: an incremental build of a tree that once carried ONNX Runtime leaves its empty folders behind.
        var runtimes = Path.Combine(PlannerProcess.Directory, "runtimes");
        Assert.False(Directory.Exists(runtimes) && Directory.EnumerateFiles(runtimes, "*", SearchOption.AllDirectories).Any(), "the planner's output has native runtimes");
    }

    [Fact]
    public async Task Measure_models_in_the_planner_names_planner_measure_in_one_line()
    {
        var result = await PlannerProcess.RunAsync("measure", "--models", Path.GetTempPath(), "--device", "cpu");
        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("planner: measure --models loads the models in ONNX Runtime", result.Error, StringComparison.Ordinal);
        Assert.Contains("planner-measure --models DIR", result.Error, StringComparison.Ordinal);
        Assert.Single(result.ErrorLines);
        Assert.Empty(result.Output);
    }
}
