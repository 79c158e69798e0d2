using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using GpuSplit.Planner.Memory;

namespace GpuSplit.Planner.Evidence;

/// <summary>
/// The field reports' one JSON shape, shared by the embedded seed records, `fit --evidence` files and the agent: a
/// record, or an array of them, each
/// <c>{"gpu", "vramMiB", "workers", "concurrency": {"smartSearch", "faceDetection", "ocr"}, "clip", "facialRecognition", "ocr", "outcome", "source"}</c>.
/// Other fields (a date, a TTL) are allowed and ignored. Reading is strict: a record feeds an out-of-memory verdict,
/// so a typo stops the planner with the record named.
/// </summary>
public static class EvidenceJson
{
    public const string EmbeddedName = "GpuSplit.evidence.json";

    public static IReadOnlyList<EvidenceRecord> LoadEmbedded()
    {
        using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream(EmbeddedName)
            ?? throw new EvidenceException("the embedded evidence is missing from this build of the planner");
        return Read(stream, "embedded evidence.json");
    }

    public static IReadOnlyList<EvidenceRecord> LoadFile(string path)
    {
        try
        {
            // A field report file is a few records, read whole.
            return Read(new MemoryStream(File.ReadAllBytes(path)), path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new EvidenceException($"{path}: cannot read the evidence ({e.Message})", e);
        }
    }

    public static IReadOnlyList<EvidenceRecord> Read(Stream json, string origin)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            var message = e.Message.IndexOf(". ", StringComparison.Ordinal) is var end and >= 0 ? e.Message[..end] : e.Message;
            throw new EvidenceException($"{origin}: not valid JSON (line {e.LineNumber + 1}: {message})", e);
        }

        using (document)
        {
            var root = document.RootElement;
            return root.ValueKind switch
            {
                JsonValueKind.Object => [Record(root, origin)],
                JsonValueKind.Array => [.. root.EnumerateArray().Select((element, index) => Record(element, $"{origin}: record #{index + 1}"))],
                _ => throw new EvidenceException($"{origin}: the top level must be a record or an array of records"),
            };
        }
    }

    public static JsonObject Node(EvidenceRecord record) => new()
    {
        ["gpu"] = record.Gpu,
        ["vramMiB"] = record.VramMiB,
        ["workers"] = record.Workers,
        ["concurrency"] = record.Concurrency is { } concurrency ? new JsonObject
        {
            ["smartSearch"] = concurrency.SmartSearch,
            ["faceDetection"] = concurrency.FaceDetection,
            ["ocr"] = concurrency.Ocr,
        } : null,
        ["clip"] = record.Clip,
        ["facialRecognition"] = record.FacialRecognition,
        ["ocr"] = record.Ocr,
        ["outcome"] = record.Outcome.WireName(),
        ["source"] = record.Source,
    };

    public static string Write(IEnumerable<EvidenceRecord> records) =>
        new JsonArray([.. records.Select(Node)]).ToJsonString(new JsonSerializerOptions { WriteIndented = true });

    private static EvidenceRecord Record(JsonElement element, string where)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new EvidenceException($"{where}: must be an object");
        }

        var outcomeText = RequiredString(element, "outcome", where);
        var outcome = Enum.GetValues<EvidenceOutcome>().Where(o => o.WireName() == outcomeText).Cast<EvidenceOutcome?>().SingleOrDefault()
            ?? throw new EvidenceException($"{where}: outcome '{outcomeText}' is not one of oom, unstable, works, comfortable");
        // null or absent: the reporter did not know Immich's job concurrency; the fit judges the record at its own.
        var concurrency = element.TryGetProperty("concurrency", out var given) && given.ValueKind != JsonValueKind.Null ? given : (JsonElement?)null;
        if (concurrency is { ValueKind: not JsonValueKind.Object })
        {
            throw new EvidenceException($"{where}: concurrency must be an object with smartSearch, faceDetection and ocr, or null when unknown");
        }

        return new EvidenceRecord(
            RequiredString(element, "gpu", where),
            Count(element, "vramMiB", where, 1, long.MaxValue),
            (int)Count(element, "workers", where, 1, 64),
            concurrency is { } c
                ? new JobConcurrency(
                    (int)Count(c, "smartSearch", $"{where}: concurrency", 1, 64),
                    (int)Count(c, "faceDetection", $"{where}: concurrency", 1, 64),
                    (int)Count(c, "ocr", $"{where}: concurrency", 1, 64))
                : null,
            RequiredString(element, "clip", where),
            OptionalName(element, "facialRecognition", where),
            OptionalName(element, "ocr", where),
            outcome,
            RequiredString(element, "source", where));
    }

    private static long Count(JsonElement element, string property, string where, long least, long most) =>
        element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt64(out var number)
            && number >= least && number <= most
            ? number
            : throw new EvidenceException($"{where}: {property} must be a whole number from {least}{(most == long.MaxValue ? " up" : $" to {most}")}");

    private static string RequiredString(JsonElement element, string property, string where) =>
        element.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String && !string.IsNullOrWhiteSpace(value.GetString())
            ? value.GetString()!
            : throw new EvidenceException($"{where}: {property} must be a non-empty string");

    /// <summary>A job switched off is null (or left out); a name must not be empty.</summary>
    private static string? OptionalName(JsonElement element, string property, string where) =>
        !element.TryGetProperty(property, out var value) || value.ValueKind == JsonValueKind.Null
            ? null
            : RequiredString(element, property, where);
}
