using System.Text.Json;
using System.Text.Json.Serialization;

namespace GpuSplit.Planner.Measure;

/// <summary>
/// measurements.json: footprints measured on real devices, keyed by device name (the GPU's NVML name, or
/// "cpu"), then by method: "in-process" (`planner measure`, an ONNX Runtime session in the planner) and
/// "service" (through Immich's own ML container) sit side by side for the same card. Runs merge into the
/// file: a component measured again replaces its old figures, everything else is kept.
/// </summary>
public static class MeasurementsFile
{
    public const string DefaultName = "measurements.json";
    public const int SchemaVersion = 1;

    /// <summary>The file next to the catalog in use: beside --catalog FILE, or beside the planner itself.</summary>
    public static string DefaultPath(FileInfo? catalog) =>
        Path.Combine(catalog?.DirectoryName ?? AppContext.BaseDirectory, DefaultName);

    /// <exception cref="MeasureException">The file exists but is not a measurements file.</exception>
    public static MeasurementsDocument Load(string path)
    {
        if (!File.Exists(path))
        {
            return new MeasurementsDocument();
        }

        try
        {
            using var stream = File.OpenRead(path);
            var document = JsonSerializer.Deserialize(stream, MeasurementsJsonContext.Readable.MeasurementsDocument)
                ?? throw new MeasureException($"{path}: empty measurements file");
            return document.SchemaVersion == SchemaVersion
                ? document
                : throw new MeasureException($"{path}: measurements schema version {document.SchemaVersion}, this planner reads {SchemaVersion}");
        }
        catch (JsonException e)
        {
            throw new MeasureException($"{path}: not a measurements file (line {e.LineNumber + 1}: {e.Message.Split(". ", 2)[0]})", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MeasureException($"{path}: cannot be read ({e.Message})", e);
        }
    }

    /// <summary>Merges <paramref name="run"/> into the file at <paramref name="path"/> (created if absent).</summary>
    /// <exception cref="MeasureException">The existing file cannot be read or the new one cannot be written.</exception>
    public static void Merge(string path, MeasureRun run) => Merge(path, run.ToUpdate());

    /// <inheritdoc cref="Merge(string, MeasureRun)"/>
    public static void Merge(string path, MeasurementUpdate update)
    {
        var document = Load(path);
        Merge(document, update);
        var temporary = path + ".tmp";
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            using (var stream = File.Create(temporary))
            {
                JsonSerializer.Serialize(stream, document, MeasurementsJsonContext.Readable.MeasurementsDocument);
            }

            // Replace in one step, so an interrupted write never leaves half a file where the figures were.
            File.Move(temporary, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new MeasureException($"{path}: cannot write the measurements ({e.Message})", e);
        }
    }

    public static void Merge(MeasurementsDocument document, MeasureRun run) => Merge(document, run.ToUpdate());

    public static void Merge(MeasurementsDocument document, MeasurementUpdate update)
    {
        if (!document.Devices.TryGetValue(update.Device, out var entries))
        {
            document.Devices[update.Device] = entries = [];
        }

        var entry = entries.FirstOrDefault(e => e.Method == update.Method);
        if (entry is null)
        {
            entries.Add(entry = new MeasurementEntry { Method = update.Method });
        }

        entry.Runtime = update.Runtime;
        entry.Memory = update.Memory;
        entry.MeasuredAt = update.MeasuredAt;
        entry.ContextBytes = update.ContextBytes ?? entry.ContextBytes;
        entry.Image = update.Image ?? entry.Image;
        foreach (var measured in update.Components)
        {
            entry.Components.RemoveAll(c => c.Model == measured.Model && c.Type == measured.Type);
            entry.Components.Add(measured);
        }

        entry.Components.Sort((a, b) => string.CompareOrdinal($"{a.Task}/{a.Model}/{a.Type}", $"{b.Task}/{b.Model}/{b.Type}"));
        foreach (var combination in update.Combinations)
        {
            entry.Combinations ??= [];
            entry.Combinations.RemoveAll(c => c.Models.SequenceEqual(combination.Models) && c.Concurrency == combination.Concurrency);
            entry.Combinations.Add(combination);
        }
    }
}

/// <summary>One run's figures for one device and method, as they merge into the file.</summary>
/// <param name="ContextBytes">Null: the run could not tell; the entry keeps what an earlier run found.</param>
/// <param name="Image">The ML image the figures come from (`--service`); null for the planner's own runtime.</param>
public sealed record MeasurementUpdate(
    string Device,
    string Method,
    string Runtime,
    string Memory,
    DateTimeOffset MeasuredAt,
    long? ContextBytes,
    string? Image,
    IReadOnlyList<ComponentEntry> Components,
    IReadOnlyList<CombinationEntry> Combinations);

public sealed class MeasurementsDocument
{
    public int SchemaVersion { get; set; } = MeasurementsFile.SchemaVersion;

    public SortedDictionary<string, List<MeasurementEntry>> Devices { get; set; } = new(StringComparer.Ordinal);
}

/// <summary>The figures one method produced on one device.</summary>
public sealed class MeasurementEntry
{
    /// <summary>"in-process" or "service".</summary>
    public string Method { get; set; } = "";

    /// <summary>The runtime that produced the latest figures, e.g. "ONNX Runtime 1.31.0" or the ML image's name and tag.</summary>
    public string Runtime { get; set; } = "";

    /// <summary>What memory the figures are and how it was read.</summary>
    public string Memory { get; set; } = "";

    public DateTimeOffset MeasuredAt { get; set; }

    /// <summary>The bare context of the latest run: the process with its runtime started and no model.</summary>
    public long ContextBytes { get; set; }

    public List<ComponentEntry> Components { get; set; } = [];

    /// <summary>`service`: the ML image, name and tag, the figures were measured with.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Image { get; set; }

    /// <summary>`service`: combinations loaded together and run at once, with what happened.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public List<CombinationEntry>? Combinations { get; set; }

    /// <summary>Fields written by other methods or newer planners, kept as they are when this one merges.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }
}

public sealed class ComponentEntry
{
    public string Model { get; set; } = "";

    public string Task { get; set; } = "";

    public string Type { get; set; } = "";

    /// <summary>The model file (in-process); the service's files are inside its container.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? File { get; set; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public long FileBytes { get; set; }

    /// <summary>The weights by static analysis of the file.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public long WeightsBytes { get; set; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public SortedDictionary<string, long[]>? Inputs { get; set; }

    /// <summary>The model's own share: what it added to the process after loading and at its peak.</summary>
    public ShareFigures Share { get; set; } = new();

    /// <summary>The process's readings the shares come from.</summary>
    public ProcessFigures Process { get; set; } = new();

    public double LoadSeconds { get; set; }

    public double RunSeconds { get; set; }

    public string Runtime { get; set; } = "";

    public DateTimeOffset MeasuredAt { get; set; }

    /// <summary>`service`: the burst that split the weights from one request's memory.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public BurstFigures? Burst { get; set; }

    /// <summary>`service`: the first model of a fresh worker, whose share still holds the worker's CUDA context (the run could not measure it apart).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool IncludesContext { get; set; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }

    public static ComponentEntry From(ComponentMeasurement m, MeasureRun run) => new()
    {
        Model = m.Model,
        Task = m.Task,
        Type = m.Type,
        File = m.File,
        FileBytes = m.FileBytes,
        WeightsBytes = m.WeightsBytes,
        Inputs = new SortedDictionary<string, long[]>(m.Inputs.ToDictionary(i => i.Name, i => i.Shape.ToArray()), StringComparer.Ordinal),
        Share = new ShareFigures { LoadedBytes = m.LoadedShareBytes, PeakBytes = m.PeakShareBytes, LoadPeakBytes = m.LoadPeakShareBytes },
        Process = new ProcessFigures
        {
            BeforeLoadBytes = m.Process.BeforeLoadBytes,
            AfterLoadBytes = m.Process.AfterLoadBytes,
            LoadPeakBytes = m.Process.LoadPeakBytes,
            PeakBytes = m.Process.PeakBytes,
            DevicePeakBytes = m.Process.DevicePeakBytes,
        },
        LoadSeconds = Math.Round(m.LoadTime.TotalSeconds, 3),
        RunSeconds = Math.Round(m.RunTime.TotalSeconds, 3),
        Runtime = run.Runtime,
        MeasuredAt = run.MeasuredAt,
    };
}

/// <summary>The model's own memory, each figure minus the process just before the model loaded.</summary>
public sealed class ShareFigures
{
    /// <summary>Held once loaded: the weights as the runtime keeps them (`planner fit`'s weights term).</summary>
    public long LoadedBytes { get; set; }

    /// <summary>The highest while serving one request at Immich's shape and batch (`planner fit`'s peak).</summary>
    public long PeakBytes { get; set; }

    /// <summary>The highest while loading; a transient that ends before the first request.</summary>
    public long LoadPeakBytes { get; set; }
}

/// <summary>Requests sent at once after a component loaded: its arena grew by (concurrency − 1) requests' memory.</summary>
public sealed class BurstFigures
{
    public int Concurrency { get; set; }

    /// <summary>The job's own concurrency (`--concurrency`); the burst sends at least 2 at once to see one request's memory.</summary>
    public int JobConcurrency { get; set; }

    public int Requests { get; set; }

    public long GrowthBytes { get; set; }

    /// <summary>The weights and the job's concurrency of requests in flight.</summary>
    public long JobPeakBytes { get; set; }

    public double Seconds { get; set; }
}

/// <summary>`service`: a combination loaded in one worker with every job running at its concurrency at once.</summary>
public sealed class CombinationEntry
{
    /// <summary>The models, CLIP, faces, then OCR when there is one.</summary>
    public List<string> Models { get; set; } = [];

    /// <summary>smart-search=N,face-detection=N,ocr=N.</summary>
    public string Concurrency { get; set; } = "";

    public double Seconds { get; set; }

    /// <summary>oom, unstable, fits or comfortable (against the card, with planner fit's 10% headroom).</summary>
    public string Verdict { get; set; } = "";

    /// <summary>The worker's highest GPU memory.</summary>
    public long PeakBytes { get; set; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? DevicePeakBytes { get; set; }

    public long DeviceTotalBytes { get; set; }

    public int Requests { get; set; }

    /// <summary>What made it `oom`: an error answer, a dropped connection, or the log line.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? OutOfMemory { get; set; }

    public string Runtime { get; set; } = "";

    public DateTimeOffset MeasuredAt { get; set; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }
}

public sealed class ProcessFigures
{
    public long BeforeLoadBytes { get; set; }

    public long AfterLoadBytes { get; set; }

    public long LoadPeakBytes { get; set; }

    public long PeakBytes { get; set; }

    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public long? DevicePeakBytes { get; set; }
}

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, WriteIndented = true)]
[JsonSerializable(typeof(MeasurementsDocument))]
[JsonSerializable(typeof(ComponentEntry))]
[JsonSerializable(typeof(CombinationEntry))]
internal sealed partial class MeasurementsJsonContext : JsonSerializerContext
{
    /// <summary>People read and diff this file: "+" and non-ASCII model names stay as they are, not \u escapes.</summary>
    public static MeasurementsJsonContext Readable { get; } = new(new JsonSerializerOptions(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
