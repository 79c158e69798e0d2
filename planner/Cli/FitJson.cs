using System.Text.Json;
using System.Text.Json.Nodes;
using GpuSplit.Planner.Catalog;
using GpuSplit.Planner.Evidence;
using GpuSplit.Planner.Fit;
using GpuSplit.Planner.Memory;
using GpuSplit.Planner.Units;

namespace GpuSplit.Planner.Cli;

/// <summary>
/// `planner fit --json`: one document whose field names scripts rely on (budgetMiB, workers, ttlSeconds, plan,
/// candidates, immich, calibration, evidence). Add fields freely; never rename or remove one.
/// </summary>
internal static class FitJson
{
    public static JsonObject Build(FitResult result)
    {
        var request = result.Request;
        var candidates = new JsonArray();
        foreach (var candidate in result.Candidates)
        {
            candidates.Add(CandidateNode(candidate, result.Request.Costs.ContextOrigin));
        }

        return new JsonObject
        {
            ["budgetMiB"] = ByteSize.ToMiB(request.BudgetBytes),
            ["workers"] = request.Workers,
            ["ttlSeconds"] = request.TtlSeconds,
            ["headroomPercent"] = Math.Round(request.HeadroomShare * 100, 2),
            ["concurrency"] = new JsonObject
            {
                ["smartSearch"] = request.Concurrency.SmartSearch,
                ["faceDetection"] = request.Concurrency.FaceDetection,
                ["ocr"] = request.Concurrency.Ocr,
            },
            ["gpu"] = request.Gpu,
            ["plan"] = result.Plan is null ? null : CandidateNode(result.Plan, result.Request.Costs.ContextOrigin),
            ["smallestBudgetMiB"] = result.SmallestBudgetThatFits is { } smallest ? ByteSize.ToMiB(smallest) : null,
            ["candidates"] = candidates,
            ["immich"] = result.Plan is null ? null : SettingsNode(ImmichSettings.For(result.Plan.Combination, request.Workers, request.TtlSeconds, request.Concurrency)),
            ["calibration"] = CalibrationNode(result.Calibration),
            ["evidence"] = new JsonArray([.. result.Calibration.Checks.Select(EvidenceNode)]),
        };
    }

    private static JsonObject CalibrationNode(Calibration calibration) => new()
    {
        ["shareOfActivationsAndRatchet"] = Math.Round(calibration.Share, 4),
        ["records"] = calibration.Used.Count(),
        ["setBy"] = new JsonArray([.. calibration.SetBy.Select(c => (JsonNode)c.Entry.Record.Source)]),
        ["contradictions"] = calibration.Contradictions.Count(),
    };

    private static JsonObject EvidenceNode(EvidenceCheck check)
    {
        var node = EntryNode(check.Entry);
        node["used"] = check.Used;
        node["notUsed"] = check.Bound.NotUsed;
        node["estimatedPeakMiB"] = check.Used ? ByteSize.ToMiB(check.Bound.EstimatedPeakBytes) : null;
        node["calibratedPeakMiB"] = check.CalibratedPeakBytes is { } peak ? ByteSize.ToMiB(peak) : null;
        node["setsCalibration"] = check.SetsCalibration;
        node["contradiction"] = check.Contradiction;
        return node;
    }

    public static async Task WriteAsync(FitResult result, TextWriter output, CancellationToken cancellationToken)
    {
        await output.WriteLineAsync(Build(result).ToJsonString(new JsonSerializerOptions { WriteIndented = true }).AsMemory(), cancellationToken);
    }

    private static JsonObject CandidateNode(Candidate candidate, FigureOrigin context)
    {
        var estimate = candidate.Estimate;
        var components = new JsonArray();
        foreach (var component in estimate.Components)
        {
            components.Add(new JsonObject
            {
                ["model"] = component.Load.Model,
                ["task"] = component.Load.Task.WireName(),
                ["type"] = component.Load.Type.WireName(),
                ["concurrency"] = component.Concurrency,
                ["weightsMiB"] = ByteSize.ToMiB(component.WeightsBytes),
                ["activationsMiB"] = ByteSize.ToMiB(component.ActivationBytes),
                ["ratchetMiB"] = ByteSize.ToMiB(component.RatchetBytes),
                ["totalMiB"] = ByteSize.ToMiB(component.TotalBytes),
                ["source"] = component.Load.Origin.WireName(),
                ["activationsSource"] = component.Load.ActivationsOrigin.WireName(),
            });
        }

        var combination = candidate.Combination;
        return new JsonObject
        {
            ["clip"] = combination.Clip.Name,
            ["facialRecognition"] = combination.Face.Name,
            ["ocr"] = combination.Ocr?.Name,
            ["peakMiB"] = ByteSize.ToMiB(candidate.PeakBytes),
            ["headroomMiB"] = ByteSize.ToMiB(candidate.HeadroomBytes),
            ["verdict"] = candidate.Verdict.WireName(),
            ["verdictOrigin"] = candidate.VerdictOrigin.WireName(),
            ["estimatedPeakMiB"] = ByteSize.ToMiB(estimate.PeakBytes),
            ["estimatedVerdict"] = candidate.EstimatedVerdict.WireName(),
            ["calibratedPeakMiB"] = ByteSize.ToMiB(candidate.CalibratedPeakBytes),
            ["calibratedVerdict"] = candidate.CalibratedVerdict.WireName(),
            ["failedOn"] = candidate.FailedOn is { } failed ? EntryNode(failed) : null,
            ["measured"] = candidate.Measured is { } measured ? MeasuredNode(measured) : null,
            ["disagreement"] = candidate.Disagreement,
            ["terms"] = new JsonObject
            {
                ["reserveMiB"] = ByteSize.ToMiB(estimate.ReserveBytes),
                ["contextMiB"] = ByteSize.ToMiB(estimate.ContextBytes),
                ["contextSource"] = context.WireName(),
                ["weightsMiB"] = ByteSize.ToMiB(estimate.WeightsBytes),
                ["activationsMiB"] = ByteSize.ToMiB(estimate.ActivationBytes),
                ["ratchetMiB"] = ByteSize.ToMiB(estimate.RatchetBytes),
                ["calibrationMiB"] = ByteSize.ToMiB(candidate.CalibrationBytes),
            },
            ["components"] = components,
        };
    }

    /// <summary>The record in its own shape, and where it reached the planner from.</summary>
    private static JsonObject EntryNode(EvidenceEntry entry)
    {
        var node = EvidenceJson.Node(entry.Record);
        node["origin"] = entry.Origin.WireName();
        node["from"] = entry.From;
        return node;
    }

    private static JsonObject MeasuredNode(MeasuredCombination measured) => new()
    {
        ["device"] = measured.Device,
        ["peakMiB"] = ByteSize.ToMiB(measured.PeakBytes),
        ["deviceTotalMiB"] = ByteSize.ToMiB(measured.DeviceTotalBytes),
        ["oom"] = measured.Oom,
        ["outOfMemory"] = measured.OutOfMemory,
        ["runtime"] = measured.Runtime,
        ["measuredAt"] = measured.MeasuredAt,
    };

    private static JsonObject SettingsNode(ImmichSettings settings) => new()
    {
        ["env"] = Variables(settings.Environment),
        ["config"] = settings.Config.DeepClone(),
        ["searchFallbackEnv"] = Variables(settings.SearchFallbackEnvironment),
    };

    private static JsonObject Variables(IReadOnlyDictionary<string, string> variables)
    {
        var node = new JsonObject();
        foreach (var (name, value) in variables)
        {
            node[name] = value;
        }

        return node;
    }
}
