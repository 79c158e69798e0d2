using System.Text.Json;
using System.Text.Json.Nodes;
using GpuSplit.MlStandIn.Control;
using GpuSplit.MlStandIn.Gpu;

namespace GpuSplit.MlStandIn.Predict;

/// <summary>
/// <c>POST /predict</c> with Immich's multipart form (<c>entries</c>, and <c>image</c> or <c>text</c>), answered
/// with the shapes immich_ml answers and its status codes: 400 without input, 422 for bad entries, 500 when the
/// image cannot be decoded or the worker is stuck after a CUDA error.
/// </summary>
public static class PredictEndpoint
{
    private const int ClipDimensions = 512;

    public static async Task<IResult> HandleAsync(HttpRequest request, StandInState state, GpuWorker worker, CancellationToken cancellationToken)
    {
        if (!request.HasFormContentType)
        {
            return Results.UnprocessableEntity(Detail("expected a multipart form"));
        }

        var form = await request.ReadFormAsync(cancellationToken);
        if (!TryParseEntries(form["entries"].ToString(), out var entries))
        {
            return Results.UnprocessableEntity(Detail("Invalid request format."));
        }

        var image = form.Files.GetFile("image");
        var text = form["text"].ToString();
        if (image is null && string.IsNullOrEmpty(text))
        {
            return Results.BadRequest(Detail("Either image or text must be provided"));
        }

        byte[] input;
        (int Width, int Height)? size = null;
        if (image is not null)
        {
            if (image.Length == 0)
            {
                return Results.BadRequest(Detail("Image is empty"));
            }

            using var buffer = new MemoryStream();
            await image.CopyToAsync(buffer, cancellationToken);
            input = buffer.ToArray();
            size = ImageSize.Read(input);
            if (size is null)
            {
                return Results.Json(Detail("cannot identify image file"), statusCode: 500);
            }
        }
        else
        {
            input = System.Text.Encoding.UTF8.GetBytes(text);
        }

        if (worker.Enabled)
        {
            if (state.StuckError is { } broken)
            {
                return Results.Json(Detail(broken), statusCode: 500);
            }

            if (Components(entries) is not { } components)
            {
                return Results.BadRequest(Detail("Task of type recognition depends on output of detection"));
            }

            foreach (var component in components)
            {
                if (await worker.LoadAsync(component) is { } failed)
                {
                    return Results.Json(Detail(failed), statusCode: 500);
                }
            }

            if (worker.BeginRun(components) is { } outOfMemory)
            {
                return Results.Json(Detail(outOfMemory), statusCode: 500);
            }

            try
            {
                await Task.Delay(state.PredictDelay, cancellationToken);
            }
            finally
            {
                worker.EndRun(components);
            }
        }
        else if (state.PredictDelay > TimeSpan.Zero)
        {
            await Task.Delay(state.PredictDelay, cancellationToken);
        }

        if (state.StuckError is { } stuck)
        {
            return Results.Json(Detail(stuck), statusCode: 500);
        }

        state.CountPredict();
        var answer = new JsonObject();
        foreach (var (task, _) in entries)
        {
            answer[task] = task switch
            {
                "clip" => Embedding(input, ClipDimensions),
                "facial-recognition" => new JsonArray(new JsonObject
                {
                    ["boundingBox"] = new JsonObject { ["x1"] = 10, ["y1"] = 12, ["x2"] = 110, ["y2"] = 140 },
                    ["embedding"] = Embedding(input, ClipDimensions),
                    ["score"] = 0.92,
                }),
                "ocr" => new JsonObject
                {
                    ["text"] = new JsonArray("IMMICH"),
                    ["box"] = new JsonArray(10, 10, 90, 10, 90, 30, 10, 30),
                    ["boxScore"] = new JsonArray(0.9),
                    ["textScore"] = new JsonArray(0.95),
                },
                _ => null,
            };
        }

        if (size is { } s)
        {
            answer["imageHeight"] = s.Height;
            answer["imageWidth"] = s.Width;
        }

        return Results.Text(answer.ToJsonString(), "application/json");
    }

    /// <summary>The components a request runs, in the worker's order (detection before recognition); null when a dependency is missing.</summary>
    private static List<ModelComponent>? Components(Dictionary<string, JsonObject> entries)
    {
        var components = new List<ModelComponent>();
        foreach (var (task, types) in entries)
        {
            foreach (var type in new[] { "visual", "textual", "detection", "recognition" }.Where(types.ContainsKey))
            {
                if (type == "recognition" && !types.ContainsKey("detection"))
                {
                    return null;
                }

                components.Add(new ModelComponent(task, type, types[type]!["modelName"]!.ToString()));
            }
        }

        return components;
    }

    private static bool TryParseEntries(string json, out Dictionary<string, JsonObject> entries)
    {
        entries = [];
        try
        {
            if (JsonNode.Parse(json) is not JsonObject root || root.Count == 0)
            {
                return false;
            }

            foreach (var (task, types) in root)
            {
                if (task is not ("clip" or "facial-recognition" or "ocr") || types is not JsonObject typed
                    || typed.Any(t => t.Value is not JsonObject model || model["modelName"] is null))
                {
                    return false;
                }

                entries[task] = typed;
            }

            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    // Deterministic per input, like a model: the same image gives the same vector.
    private static string Embedding(byte[] input, int dimensions)
    {
        var seed = 17;
        foreach (var b in input)
        {
            seed = unchecked((seed * 31) + b);
        }

        var random = new Random(seed);
        var values = new float[dimensions];
        for (var i = 0; i < dimensions; i++)
        {
            values[i] = (float)(random.NextDouble() * 2 - 1);
        }

        return JsonSerializer.Serialize(values);
    }

    private static Dictionary<string, string> Detail(string text) => new() { ["detail"] = text };
}
