using System.Text.Json;

namespace GpuSplit.Shim.Classification;

/// <summary>
/// Reads the <c>entries</c> JSON of a <c>/predict</c> form, <c>{task: {type: {"modelName": ...}}}</c>, and
/// names the request's kind. Only the shape is checked here; model names and options are the ML service's
/// business, and an unknown task is passed on as background work for it to judge.
/// </summary>
public static class EntriesClassifier
{
    private static readonly JsonDocumentOptions Parsing = new() { MaxDepth = 16 };

    public static RequestClassification Classify(ReadOnlyMemory<byte> entries)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(entries, Parsing);
        }
        catch (JsonException e)
        {
            return Malformed($"entries is not valid JSON ({e.Message})");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.EnumerateObject().Any())
            {
                return Malformed("entries must be a JSON object naming at least one task, e.g. {\"clip\":{\"visual\":{\"modelName\":\"ViT-B-32__openai\"}}}");
            }

            var kind = (MlRequestKind?)null;
            foreach (var task in root.EnumerateObject())
            {
                if (task.Value.ValueKind != JsonValueKind.Object || !task.Value.EnumerateObject().Any())
                {
                    return Malformed($"entries task '{task.Name}' must be an object naming at least one model type");
                }

                foreach (var type in task.Value.EnumerateObject())
                {
                    if (type.Value.ValueKind != JsonValueKind.Object)
                    {
                        return Malformed($"entries '{task.Name}.{type.Name}' must be an object such as {{\"modelName\": ...}}");
                    }
                }

                var taskKind = KindOf(task.Name, task.Value);
                // A text query anywhere makes the whole request a search: a person is waiting for it.
                kind = kind is null || taskKind == MlRequestKind.Search ? taskKind : kind;
            }

            return RequestClassification.Of(kind!.Value);
        }
    }

    private static MlRequestKind KindOf(string task, JsonElement types) => task switch
    {
        "clip" when types.TryGetProperty("textual", out _) => MlRequestKind.Search,
        "clip" => MlRequestKind.SmartSearch,
        "facial-recognition" => MlRequestKind.FaceDetection,
        "ocr" => MlRequestKind.Ocr,
        _ => MlRequestKind.OtherJob,
    };

    private static RequestClassification Malformed(string detail) =>
        RequestClassification.Refused(StatusCodes.Status422UnprocessableEntity, "malformed-entries", detail);
}
