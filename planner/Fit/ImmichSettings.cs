using System.Text.Json.Nodes;
using GpuSplit.Planner.Memory;

namespace GpuSplit.Planner.Fit;

/// <summary>
/// The settings that make Immich run a plan: the ML container's environment, the fragment of the Immich
/// server's system config (Administration, Settings, or the config file) with the models and job concurrency, and the
/// environment of the always-on box's search fallback (deploy/always-on/compose.yaml), which must embed queries with
/// the plan's own CLIP model or searches match nothing.
/// </summary>
public sealed record ImmichSettings(IReadOnlyDictionary<string, string> Environment, JsonObject Config, IReadOnlyDictionary<string, string> SearchFallbackEnvironment)
{
    /// <summary>
    /// The text half of a CLIP model loaded at start (Immich's machine-learning/immich_ml/config.py: prefix
    /// MACHINE_LEARNING_, nested delimiter __, <c>preload.clip.textual</c>; main at v3.1.0).
    /// </summary>
    public const string PreloadClipTextual = "MACHINE_LEARNING_PRELOAD__CLIP__TEXTUAL";

    public static ImmichSettings For(Combination plan, int workers, int ttlSeconds, JobConcurrency concurrency)
    {
        var environment = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["MACHINE_LEARNING_WORKERS"] = workers.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["MACHINE_LEARNING_MODEL_TTL"] = ttlSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        var ocr = plan.Ocr is null
            ? new JsonObject { ["enabled"] = false }
            : new JsonObject { ["enabled"] = true, ["modelName"] = plan.Ocr.Name };
        var config = new JsonObject
        {
            ["machineLearning"] = new JsonObject
            {
                ["clip"] = new JsonObject { ["enabled"] = true, ["modelName"] = plan.Clip.Name },
                ["facialRecognition"] = new JsonObject { ["enabled"] = true, ["modelName"] = plan.Face.Name },
                ["ocr"] = ocr,
            },
            ["job"] = new JsonObject
            {
                ["smartSearch"] = new JsonObject { ["concurrency"] = concurrency.SmartSearch },
                ["faceDetection"] = new JsonObject { ["concurrency"] = concurrency.FaceDetection },
                ["ocr"] = new JsonObject { ["concurrency"] = concurrency.Ocr },
            },
        };
        var fallback = new SortedDictionary<string, string>(StringComparer.Ordinal) { [PreloadClipTextual] = plan.Clip.Name };
        return new ImmichSettings(environment, config, fallback);
    }
}
