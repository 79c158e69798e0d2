using System.Diagnostics;
using GpuSplit.Planner.Service;
using Spectre.Console;

namespace GpuSplit.Planner.Cli;

/// <summary>
/// Shows what `planner measure` is doing while a model loads and runs (seconds to minutes each): a spinner on a
/// terminal, plain lines on standard error when the output is redirected or is JSON.
/// </summary>
internal sealed class MeasureProgress : IStepProgress
{
    private readonly IAnsiConsole? terminal;
    private readonly TextWriter lines;

    private MeasureProgress(IAnsiConsole? terminal, TextWriter lines)
    {
        this.terminal = terminal;
        this.lines = lines;
    }

    public static MeasureProgress For(TextWriter output, TextWriter error, bool json)
    {
        var interactive = !json && ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected;
        return new MeasureProgress(interactive ? Terminal.For(output) : null, error);
    }

    public T Step<T>(string label, Func<T> work)
    {
        if (terminal is not null)
        {
            return terminal.Status().Spinner(Spinner.Known.Dots).Start($"measuring {Markup.Escape(label)}", _ => work());
        }

        lines.WriteLine($"planner measure: measuring {label}");
        var clock = Stopwatch.StartNew();
        var result = work();
        lines.WriteLine($"planner measure: measured {label} in {clock.Elapsed.TotalSeconds:0.0} s");
        return result;
    }

    public async Task<T> StepAsync<T>(string label, Func<Task<T>> work)
    {
        if (terminal is not null)
        {
            return await terminal.Status().Spinner(Spinner.Known.Dots).StartAsync(Markup.Escape(label), _ => work());
        }

        await lines.WriteLineAsync($"planner measure: {label}");
        var clock = Stopwatch.StartNew();
        var result = await work();
        await lines.WriteLineAsync($"planner measure: done in {clock.Elapsed.TotalSeconds:0.0} s: {label}");
        return result;
    }
}
