using Spectre.Console;

namespace GpuSplit.Planner.Cli;

/// <summary>A Spectre console over the command's output writer; plain text when the output is not a terminal.</summary>
internal static class Terminal
{
    public static IAnsiConsole For(TextWriter output)
    {
        var interactive = ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected;
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = interactive ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = interactive ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = interactive ? InteractionSupport.Detect : InteractionSupport.No,
        });
        if (!interactive)
        {
            // Redirected output (pipes, files, tests) gets a fixed width so tables do not wrap at 80 columns.
            console.Profile.Width = 200;
        }

        return console;
    }
}
