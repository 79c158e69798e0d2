using System.Globalization;
using GpuSplit.Planner.Evidence;
using GpuSplit.Planner.Units;
using Spectre.Console;

namespace GpuSplit.Planner.Cli;

/// <summary>`planner fit`'s field reports for a person: each one, what the calibration made of it, and every contradiction.</summary>
internal static class FitEvidenceReport
{
    /// <summary>"6 field reports (seed story 5, --evidence 1)", or "no field report".</summary>
    public static string Counted(Calibration calibration)
    {
        var used = calibration.Used.ToList();
        if (used.Count == 0)
        {
            return "no field report";
        }

        var origins = used.GroupBy(c => c.Entry.Origin).OrderBy(g => g.Key).Select(g => $"{Name(g.Key)} {g.Count()}");
        return $"{used.Count} field report{(used.Count == 1 ? "" : "s")} ({string.Join(", ", origins)})";
    }

    /// <summary>
    /// One line a record, past the console's width so that each stays one line a script can find; records not used
    /// and records that contradict say so, never dropped in silence.
    /// </summary>
    public static void Write(IAnsiConsole console, Calibration calibration)
    {
        if (calibration.Checks.Count == 0)
        {
            return;
        }

        console.WriteLine();
        console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Field reports: {Counted(calibration)} used; the calibration is {calibration.Share:P1} of activations and ratchet"));
        var writer = console.Profile.Out.Writer;
        foreach (var check in calibration.Checks)
        {
            var record = check.Entry.Record;
            var what = $"{record.Outcome.WireName()}: {record.Models()}, {record.Workers} worker(s), {record.Concurrency?.ToString() ?? $"concurrency unknown (judged at {check.Bound.Concurrency})"} on {ByteSize.FormatMiB(record.VramMiB * ByteSize.MiB)} ({record.Gpu})";
            var figures = check.CalibratedPeakBytes is { } calibrated
                ? $"estimate {ByteSize.FormatMiB(check.Bound.EstimatedPeakBytes)}, calibrated {ByteSize.FormatMiB(calibrated)}{(check.SetsCalibration ? ", sets the calibration" : "")}"
                : $"not used: {check.Bound.NotUsed}";
            writer.WriteLine($"  {what}: {figures}. Source: {record.Source} ({check.Entry.From})");
            if (check.Contradiction is { } contradiction)
            {
                writer.WriteLine($"    contradiction: {contradiction}");
            }
        }
    }

    private static string Name(EvidenceOrigin origin) => origin switch
    {
        EvidenceOrigin.Seed => "seed story",
        EvidenceOrigin.File => "--evidence",
        EvidenceOrigin.Agent => "agent",
        _ => throw new ArgumentOutOfRangeException(nameof(origin), origin, null),
    };
}
