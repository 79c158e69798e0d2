using System.Text.Json.Nodes;

namespace GpuSplit.Planner.Tests.Measure;

/// <summary>A catalog file (models.json format) for generated models, so tests control the shapes Immich would feed.</summary>
internal static class MeasureCatalog
{
    /// <summary>A CLIP model whose visual component takes <paramref name="visualShape"/> (its first axis the batch).</summary>
    public static JsonObject ClipModel(string name, long[] visualShape) => new()
    {
        ["name"] = name,
        ["task"] = "clip",
        ["components"] = new JsonArray(
            Component("visual", visualShape),
            Component("textual", [1, 77])),
    };

    public static string Write(string path, params JsonObject[] models)
    {
        var catalog = new JsonObject
        {
            ["schemaVersion"] = 1,
            ["sources"] = new JsonObject { ["test"] = new JsonObject { ["title"] = "written by the test" } },
            ["models"] = new JsonArray(models),
        };
        File.WriteAllText(path, catalog.ToJsonString());
        return path;
    }

    private static JsonObject Component(string type, long[] shape) => new()
    {
        ["type"] = type,
        ["fileBytes"] = new JsonObject { ["value"] = 1, ["source"] = "test" },
        ["input"] = new JsonObject
        {
            ["shape"] = new JsonArray([.. shape.Select(d => JsonValue.Create(d))]),
            ["batch"] = shape[0],
            ["source"] = "test",
        },
    };
}
