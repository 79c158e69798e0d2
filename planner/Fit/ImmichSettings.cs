using System.Text.Json.Nodes;
using GpuSplit.Planner.Memory;

namespace GpuSplit.Planner.Fit;

/// <summary>
/// The settings that make Immich run a plan: the ML container's environment, and the fragment of the Immich
/// server's system config (Administration, Settings, or the config file) with the models and job concurrency.
/// </summary>
public sealed record ImmichSettings(IReadOnlyDictionary<string, string> Environment, JsonObject Config)
{
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
        return new ImmichSettings(environment, config);
    }
}
