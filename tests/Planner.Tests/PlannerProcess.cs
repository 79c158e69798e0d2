using System.Diagnostics;
using System.Reflection;

namespace GpuSplit.Planner.Tests;

/// <summary>
/// The real planner as a process of its own, as a person or a script runs it (exit codes, standard error);
/// measurements read this process's memory, which must not be shared with the test host and its parallel tests.
/// </summary>
internal static class PlannerProcess
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(3);

    /// <summary>The planner's own build output (see the project file for why not this test project's).</summary>
    public static readonly string Directory = BuildOutput("PlannerDirectory");

    /// <summary>planner-measure's (measure/), with ONNX Runtime beside it.</summary>
    private static readonly string MeasureDirectory = BuildOutput("MeasureDirectory");

    public static Task<Result> RunAsync(params string[] args) => RunAsync(args, environment: null);

    public static Task<Result> RunAsync(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null) =>
        RunAsync(Path.Combine(Directory, "planner.dll"), args, environment);

    /// <summary>planner-measure, the planner's `measure` with ONNX Runtime for --models.</summary>
    public static Task<Result> RunMeasureAsync(IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment = null) =>
        RunAsync(Path.Combine(MeasureDirectory, "planner-measure.dll"), args, environment);

    private static string BuildOutput(string key) =>
        typeof(PlannerProcess).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == key).Value!;

    private static async Task<Result> RunAsync(string program, IEnumerable<string> args, IReadOnlyDictionary<string, string>? environment)
    {
        var start = new ProcessStartInfo(Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.ArgumentList.Add(program);
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("could not start the planner");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(Limit);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{Path.GetFileNameWithoutExtension(program)} {string.Join(' ', start.ArgumentList.Skip(1))} did not finish within {Limit}");
        }

        return new Result(process.ExitCode, await output, await error);
    }

    public sealed record Result(int ExitCode, string Output, string Error)
    {
        public string[] ErrorLines => Error.Split('\n', StringSplitOptions.RemoveEmptyEntries);

        public override string ToString() => $"exit {ExitCode}\n--- stdout\n{Output}\n--- stderr\n{Error}";
    }
}
