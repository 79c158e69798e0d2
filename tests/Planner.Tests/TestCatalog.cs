using System.Text;
using System.Text.Json.Nodes;
using GpuSplit.Planner.Catalog;

namespace GpuSplit.Planner.Tests;

/// <summary>Small catalogs written in the models.json format, so tests exercise the real reader.</summary>
internal static class TestCatalog
{
    public const long MB = 1_000_000;

    public static JsonObject Component(string type, long fileBytes, long activationBytes = 0, JsonObject? input = null)
    {
        var component = new JsonObject
        {
            ["type"] = type,
            ["fileBytes"] = new JsonObject { ["value"] = fileBytes, ["source"] = "test" },
        };
        if (activationBytes > 0)
        {
            component["activationBytes"] = new JsonObject { ["value"] = activationBytes, ["source"] = "derived", ["derivation"] = "set by the test" };
        }

        if (input is not null)
        {
            component["input"] = input;
        }

        return component;
    }

    public static JsonObject Model(string name, string task, double? quality, params JsonObject[] components)
    {
        var model = new JsonObject
        {
            ["name"] = name,
            ["task"] = task,
            ["components"] = new JsonArray(components),
        };
        if (quality is { } value)
        {
            model["quality"] = new JsonObject { ["metric"] = "recall", ["value"] = value, ["source"] = "test" };
        }

        return model;
    }

    public static JsonObject Document(params JsonObject[] models) => new()
    {
        ["schemaVersion"] = 1,
        ["sources"] = new JsonObject { ["test"] = new JsonObject { ["title"] = "figures set by the test" } },
        ["models"] = new JsonArray(models),
    };

    public static ModelCatalog Read(JsonObject document) => Read(document.ToJsonString());

    public static ModelCatalog Read(string json) => CatalogReader.Read(new MemoryStream(Encoding.UTF8.GetBytes(json)), "test.json");

    /// <summary>Two CLIP models (one multilingual and better), two face models, two OCR models.</summary>
    public static JsonObject Small()
    {
        var multilingual = Model("multi-clip", "clip", 70,
            Component("visual", 400 * MB, 10 * MB), Component("textual", 1100 * MB, 1 * MB));
        multilingual["multilingual"] = true;
        return Document(
            Model("small-clip", "clip", 60, Component("visual", 350 * MB, 10 * MB), Component("textual", 250 * MB, 1 * MB)),
            multilingual,
            Model("face-big", "facial-recognition", null, Component("detection", 17 * MB, 20 * MB), Component("recognition", 174 * MB, 30 * MB)),
            Model("face-small", "facial-recognition", null, Component("detection", 3 * MB, 20 * MB), Component("recognition", 14 * MB, 30 * MB)),
            Model("ocr-small", "ocr", null, Component("detection", 5 * MB, 100 * MB), Component("recognition", 16 * MB, 5 * MB)),
            Model("ocr-big", "ocr", null, Component("detection", 88 * MB, 100 * MB), Component("recognition", 84 * MB, 5 * MB)));
    }
}
