using System.CommandLine;
using GpuSplit.Planner.Catalog;

namespace GpuSplit.Planner.Cli;

/// <summary>The planner's command line: each subcommand lives in its own file and is registered here.</summary>
internal static class PlannerCli
{
    /// <summary>Exit code for a usage error (bad option, bad size), distinct from "nothing fits" (1).</summary>
    public const int UsageError = 2;

    public static Task<int> RunAsync(string[] args, TextWriter output, TextWriter error)
    {
        var root = new RootCommand("GpuSplit planner: which Immich ML models fit your GPU, and the settings to apply.");
        foreach (var command in Commands())
        {
            root.Subcommands.Add(command);
        }

        return RunAsync("planner", root, args, output, error);
    }

    /// <summary>planner-measure: `planner measure` with ONNX Runtime for --models, as a program of its own.</summary>
    public static Task<int> RunMeasureAsync(string[] args, TextWriter output, TextWriter error, IInProcessMeasurer inProcess) =>
        RunAsync("planner-measure", MeasureCommand.CreateRoot(inProcess), args, output, error);

    /// <param name="program">What the one-line errors start with: the program the user typed.</param>
    private static async Task<int> RunAsync(string program, RootCommand root, string[] args, TextWriter output, TextWriter error)
    {
        var parsed = root.Parse(args);
        if (parsed.Errors.Count > 0)
        {
            // One clear line per problem and exit 2, never System.CommandLine's help dump on stdout.
            foreach (var problem in parsed.Errors)
            {
                await error.WriteLineAsync($"{program}: {problem.Message}");
            }

            return UsageError;
        }

        // Bad input is one line and exit 2, never a stack trace; anything else is a bug and keeps its trace.
        var configuration = new InvocationConfiguration { Output = output, Error = error, EnableDefaultExceptionHandler = false };
        try
        {
            return await parsed.InvokeAsync(configuration);
        }
        catch (Exception e) when (e is UsageException or CatalogException)
        {
            await error.WriteLineAsync($"{program}: {e.Message}");
            return UsageError;
        }
    }

    private static IEnumerable<Command> Commands()
    {
        yield return FitCommand.Create();
        yield return CatalogCommand.Create();
        yield return InspectCommand.Create();
        yield return MeasureCommand.Create(inProcess: null);
    }
}
