using System.Text;
using Spectre.Console;

namespace GpuSplit.Planner.Cli;

/// <summary>A Spectre console over the command's output writer; plain text when the output is not a terminal.</summary>
internal static class Terminal
{
    public static IAnsiConsole For(TextWriter output)
    {
        var interactive = ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected;
        return AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = interactive ? new AnsiConsoleOutput(output) : new Redirected(output),
            Ansi = interactive ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = interactive ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
            Interactive = interactive ? InteractionSupport.Detect : InteractionSupport.No,
        });
    }

    /// <summary>
    /// Redirected output (pipes, files, tests): a fixed width, so that tables do not wrap at 80 columns, and no
    /// question to the console. Spectre's own output asks Console.BufferWidth, which on Linux, with standard output
    /// not a terminal, falls back to reading and parsing the terminfo database: most of the extra time plain fit
    /// took over --json as a process (bench/RESULTS.md, planner-fit).
    /// </summary>
    private sealed class Redirected(TextWriter writer) : IAnsiConsoleOutput
    {
        public TextWriter Writer => writer;

        public bool IsTerminal => false;

        public int Width => 200;

        public int Height => 24;

        public void SetEncoding(Encoding encoding)
        {
            // The writer keeps its own encoding: it is not the console's to change.
        }
    }
}
