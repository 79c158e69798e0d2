using System.Globalization;
using System.Text.Json;
using GpuSplit.Planner.Catalog;
using GpuSplit.Planner.Evidence;
using GpuSplit.Planner.Fit;
using GpuSplit.Planner.Memory;
using GpuSplit.Planner.Units;
using Spectre.Console;

namespace GpuSplit.Planner.Cli;

/// <summary>`planner fit` for a person: the plan, the arithmetic behind it, the alternatives, and the settings.</summary>
internal static class FitReport
{
    private const int AlternativesShown = 12;

    public static void Write(FitResult result, IAnsiConsole console)
    {
        var request = result.Request;
        console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"Card: {ByteSize.FormatMiB(request.BudgetBytes)} · {request.Workers} worker(s) · model TTL {request.TtlSeconds} s · concurrency {request.Concurrency} · headroom {request.HeadroomShare:P0}"));
        console.WriteLine("Assumes the worst case: every job running at once at its concurrency, all models loaded.");
        console.WriteLine();

        if (result.Plan is { } plan)
        {
            console.Write(new Markup($"[bold]Plan: {Markup.Escape(plan.Combination.ToString())}[/] — [bold]{VerdictOf(plan)}[/]"));
            console.WriteLine();
            console.WriteLine(AtAGlance(plan, result.Calibration, request));
            console.Write(PlanTable(plan));
            console.Write(BudgetTable(plan, request, result.Calibration));
        }
        else
        {
            console.Write(new Markup("[bold]No combination fits this card.[/]"));
            console.WriteLine();
            if (result.SmallestBudgetThatFits is { } smallest)
            {
                console.WriteLine($"The smallest card that would take one has {ByteSize.FormatMiB(smallest)}.");
            }
        }

        console.Write(AlternativesTable(result));
        WriteDisagreements(console, result);
        FitEvidenceReport.Write(console, result.Calibration);
        if (result.Plan is { } chosen)
        {
            WriteSettings(console, ImmichSettings.For(chosen.Combination, request.Workers, request.TtlSeconds, request.Concurrency));
        }
    }

    private static Table PlanTable(Candidate plan)
    {
        var table = new Table().Title("Models").AddColumns("Job", "Model", "Component", "Weights", "In flight", "Activations", "Ratchet", "Footprint", "Figures");
        foreach (var component in plan.Estimate.Components)
        {
            var load = component.Load;
            table.AddRow(
                JobOf(load),
                Markup.Escape(load.Model),
                load.Type.WireName(),
                ByteSize.FormatMiB(component.WeightsBytes),
                component.Concurrency.ToString(CultureInfo.InvariantCulture),
                ByteSize.FormatMiB(component.ActivationBytes),
                ByteSize.FormatMiB(component.RatchetBytes),
                ByteSize.FormatMiB(component.TotalBytes),
                Figures(load));
        }

        return table;
    }

    /// <summary>What a self-hoster reads first: how much stays free once the field reports have had their say, and whose reports they are.</summary>
    private static string AtAGlance(Candidate plan, Calibration calibration, FitRequest request) => string.Create(CultureInfo.InvariantCulture,
        $"Free after calibration: {ByteSize.FormatMiB(plan.HeadroomBytes)} ({plan.HeadroomBytes / (double)request.BudgetBytes:P0}) of {ByteSize.FormatMiB(request.BudgetBytes)}; "
        + $"the calibration adds {ByteSize.FormatMiB(plan.CalibrationBytes)}, from {FitEvidenceReport.Counted(calibration)}.");

    private static Table BudgetTable(Candidate plan, FitRequest request, Calibration calibration)
    {
        var estimate = plan.Estimate;
        var table = new Table().Title("Budget").AddColumns("Term", "MiB", "What it is");
        table.Columns[1].RightAligned();
        Row(table, "reserve", estimate.ReserveBytes, "kept free for the driver, cuDNN and cuBLAS outside the arenas (once per GPU)");
        var costs = request.Costs;
        Row(table, "context", estimate.ContextBytes, costs.ContextSource is { } source
            ? $"a worker's CUDA context, {costs.ContextOrigin.WireName()} on this card ({source}), × {estimate.Workers} worker(s)"
            : $"CUDA context, lazy loading, × {estimate.Workers} worker(s) (estimate)");
        Row(table, "weights", estimate.WeightsBytes, "model initializers in ONNX Runtime's CUDA arena");
        Row(table, "activations", estimate.ActivationBytes, "per request in flight × job concurrency");
        Row(table, "ratchet", estimate.RatchetBytes, "buffers the arena keeps for every OCR input size it has seen");
        Row(table, "estimate", estimate.PeakBytes, "the static model's peak");
        Row(table, "calibration", plan.CalibrationBytes, string.Create(CultureInfo.InvariantCulture,
            $"{calibration.Share:P1} of activations and ratchet (what the model cannot bound), the least that agrees with the field reports"));
        Row(table, "total", plan.CalibratedPeakBytes, "predicted peak, calibrated");
        if (plan.Measured is { } measured)
        {
            Row(table, "measured", measured.PeakBytes, string.Create(CultureInfo.InvariantCulture,
                $"the worker's peak running this combination through Immich's ML service on {measured.Device} ({measured.MeasuredAt:yyyy-MM-dd}); the verdict's figure"));
        }

        Row(table, "card", request.BudgetBytes, string.Empty);
        Row(table, "headroom", plan.HeadroomBytes, string.Create(CultureInfo.InvariantCulture,
            $"{plan.HeadroomBytes / (double)request.BudgetBytes:P0} free; under {request.HeadroomShare:P0} is unstable, {VerdictPolicy.ComfortableFreeShare:P0} or more is comfortable"));
        return table;
    }

    private static Table AlternativesTable(FitResult result)
    {
        var shown = AlternativesWindow.Around(result.Candidates, result.Plan, AlternativesShown);
        var title = result.Plan is null
            ? "Alternatives, best models first: none fits"
            : "Alternatives, best models first: the plan is the first that at least fits; above it, why not a better one";
        var table = new Table().Title(title).AddColumns("CLIP", "Faces", "OCR", "Peak MiB", "Headroom MiB", "Verdict");
        table.Columns[3].RightAligned();
        table.Columns[4].RightAligned();
        foreach (var candidate in shown.Rows)
        {
            var combination = candidate.Combination;
            table.AddRow(
                Markup.Escape(combination.Clip.Name),
                Markup.Escape(combination.Face.Name),
                Markup.Escape(combination.Ocr?.Name ?? "off"),
                ByteSize.ToMiB(candidate.PeakBytes).ToString("N0", CultureInfo.InvariantCulture),
                ByteSize.ToMiB(candidate.HeadroomBytes).ToString("N0", CultureInfo.InvariantCulture),
                ReferenceEquals(candidate, result.Plan) ? $"{VerdictOf(candidate)} ← plan" : VerdictOf(candidate));
        }

        if (shown.Hidden > 0)
        {
            table.Caption(string.Create(CultureInfo.InvariantCulture,
                $"{shown.HiddenAbove} better-ranked and {shown.HiddenBelow} lower-ranked not shown; --json lists every combination"));
        }

        return table;
    }

    /// <summary>
    /// Every candidate whose measurement overrules its estimate, in the table or not: the card's word is news. Written
    /// past the console's width, so that each stays one line a script can find (a log line in it is long).
    /// </summary>
    private static void WriteDisagreements(IAnsiConsole console, FitResult result)
    {
        var overruled = result.Candidates.Where(c => c.Disagreement is not null).ToList();
        if (overruled.Count > 0)
        {
            console.WriteLine();
            console.WriteLine("Measured through Immich's ML service, against the estimate:");
        }

        foreach (var candidate in overruled)
        {
            console.Profile.Out.Writer.WriteLine($"{candidate.Combination}: {candidate.Disagreement}");
        }
    }

    private static string VerdictOf(Candidate candidate) => candidate.VerdictOrigin == FigureOrigin.Estimate
        ? candidate.Verdict.WireName()
        : $"{candidate.Verdict.WireName()} ({candidate.VerdictOrigin.WireName()})";

    private static void WriteSettings(IAnsiConsole console, ImmichSettings settings)
    {
        console.WriteLine();
        console.Write(new Markup("[bold]Settings to apply[/]"));
        console.WriteLine();
        console.WriteLine("ML container environment (docker compose, immich-machine-learning service):");
        foreach (var (name, value) in settings.Environment)
        {
            console.WriteLine($"  {name}={value}");
        }

        console.WriteLine("Immich server config (Administration > Settings, or the file IMMICH_CONFIG_FILE names):");
        console.WriteLine(settings.Config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        console.WriteLine("Search fallback on the always-on box (deploy/always-on/compose.yaml reads it from .env; the same CLIP model, or searches match nothing):");
        foreach (var (name, value) in settings.SearchFallbackEnvironment)
        {
            console.WriteLine($"  {name}={value}");
        }
    }

    private static void Row(Table table, string term, long bytes, string what) =>
        table.AddRow(term, ByteSize.ToMiB(bytes).ToString("N0", CultureInfo.InvariantCulture), Markup.Escape(what));

    private static string Figures(ComponentLoad load) => load.Origin == load.ActivationsOrigin
        ? load.Origin.WireName()
        : $"{load.Origin.WireName()} weights, {load.ActivationsOrigin.WireName()} per request";

    private static string JobOf(ComponentLoad load) => (load.Task, load.Type) switch
    {
        (ModelTask.Clip, ComponentType.Visual) => "smart search",
        (ModelTask.Clip, _) => "search queries",
        (ModelTask.FacialRecognition, _) => "face detection",
        _ => "OCR",
    };
}
