using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using GpuSplit.Planner.Measure;
using GpuSplit.Planner.Units;
using Spectre.Console;

namespace GpuSplit.Planner.Cli;

/// <summary>`planner measure`'s results: a table for a person, or one JSON document for scripts.</summary>
internal static class MeasureReport
{
    public static void Write(MeasureRun run, IReadOnlyList<SizeSweep> sweeps, string? file, IAnsiConsole console)
    {
        console.WriteLine($"Device: {run.Device} · {run.Runtime} · {run.Method}");
        console.WriteLine($"Memory: {run.MemoryMethod}");
        console.WriteLine($"Bare context (runtime and provider started, no model): {ByteSize.FormatMiB(run.ContextBytes)}");
        var table = new Table().AddColumns("Component", "File MiB", "Weights MiB", "After load MiB", "Peak MiB", "Model share MiB", "Load + run s");
        foreach (var column in table.Columns.Skip(1))
        {
            column.RightAligned();
        }

        foreach (var c in run.Components)
        {
            table.AddRow(
                Markup.Escape(c.Label),
                MiB(c.FileBytes),
                MiB(c.WeightsBytes),
                MiB(c.Process.AfterLoadBytes),
                MiB(c.Process.PeakBytes),
                MiB(c.PeakShareBytes),
                string.Create(CultureInfo.InvariantCulture, $"{c.LoadTime.TotalSeconds:0.00} + {c.RunTime.TotalSeconds:0.00}"));
        }

        console.Write(table);
        console.WriteLine("After load and peak are the whole process; model share is the peak minus the process just before the model loaded.");
        console.WriteLine($"Inputs (Immich's shape and batch): {string.Join("; ", run.Components.Select(c => $"{c.Type} {string.Join(" ", c.Inputs)}"))}");
        foreach (var sweep in sweeps)
        {
            WriteSweep(sweep, console);
        }

        if (file is not null)
        {
            console.WriteLine($"Merged into {file} under \"{run.Device}\" ({run.Method}).");
        }
    }

    private static void WriteSweep(SizeSweep sweep, IAnsiConsole console)
    {
        var table = new Table().Title($"{Markup.Escape(sweep.Label)}: every input size in one session").AddColumns("Pass", $"Axis {sweep.Axis}", "Peak MiB", "After MiB", "Kept since load MiB");
        foreach (var column in table.Columns)
        {
            column.RightAligned();
        }

        foreach (var step in sweep.Steps)
        {
            table.AddRow(step.Pass.ToString(CultureInfo.InvariantCulture), step.Size.ToString(CultureInfo.InvariantCulture), MiB(step.PeakBytes), MiB(step.AfterBytes),
                MiB(step.AfterBytes - sweep.AfterLoadBytes));
        }

        console.Write(table);
        console.WriteLine($"Kept after every size once: {ByteSize.FormatMiB(sweep.KeptAfterFirstPassBytes)} (the memory model: {ByteSize.FormatMiB(sweep.ModelKeptBytes)}, "
            + $"its ratchet plus this sweep's largest request); the second pass added {ByteSize.FormatMiB(sweep.SecondPassGrowthBytes)}.");
    }

    private static string MiB(long bytes) => ByteSize.ToMiB(bytes).ToString("N0", CultureInfo.InvariantCulture);

    public static async Task WriteJsonAsync(MeasureRun run, IReadOnlyList<SizeSweep> sweeps, IReadOnlyList<string> warnings, string? file, TextWriter output, CancellationToken cancellationToken)
    {
        var components = new JsonArray();
        foreach (var c in run.Components)
        {
            components.Add(JsonSerializer.SerializeToNode(ComponentEntry.From(c, run), MeasurementsJsonContext.Readable.ComponentEntry));
        }

        var document = new JsonObject
        {
            ["device"] = run.Device,
            ["method"] = run.Method,
            ["runtime"] = run.Runtime,
            ["memory"] = run.MemoryMethod,
            ["measuredAt"] = run.MeasuredAt,
            ["contextBytes"] = run.ContextBytes,
            ["components"] = components,
            ["sizes"] = new JsonArray([.. sweeps.Select(SweepJson)]),
            ["failures"] = new JsonArray([.. run.Failures.Select(f => new JsonObject { ["component"] = f.Label, ["message"] = f.Message })]),
            ["warnings"] = new JsonArray([.. warnings.Select(w => JsonValue.Create(w))]),
            ["measurementsFile"] = file,
        };
        await output.WriteLineAsync(document.ToJsonString(MeasurementsJsonContext.Readable.Options).AsMemory(), cancellationToken);
    }

    private static JsonObject SweepJson(SizeSweep sweep) => new()
    {
        ["component"] = sweep.Label,
        ["axis"] = sweep.Axis,
        ["beforeLoadBytes"] = sweep.BeforeLoadBytes,
        ["afterLoadBytes"] = sweep.AfterLoadBytes,
        ["keptAfterFirstPassBytes"] = sweep.KeptAfterFirstPassBytes,
        ["secondPassGrowthBytes"] = sweep.SecondPassGrowthBytes,
        ["modelKeptBytes"] = sweep.ModelKeptBytes,
        ["steps"] = new JsonArray([.. sweep.Steps.Select(s => new JsonObject
        {
            ["pass"] = s.Pass,
            ["size"] = s.Size,
            ["peakBytes"] = s.PeakBytes,
            ["afterBytes"] = s.AfterBytes,
        })]),
    };
}
