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
    public static void Merge(string path, MeasureRun run)
    {
        var document = Load(path);
        Merge(document, run);
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

    public static void Merge(MeasurementsDocument document, MeasureRun run)
    {
        if (!document.Devices.TryGetValue(run.Device, out var entries))
        {
            document.Devices[run.Device] = entries = [];
        }

        var entry = entries.FirstOrDefault(e => e.Method == run.Method);
        if (entry is null)
        {
            entries.Add(entry = new MeasurementEntry { Method = run.Method });
        }

        entry.Runtime = run.Runtime;
        entry.Memory = run.MemoryMethod;
        entry.MeasuredAt = run.MeasuredAt;
        entry.ContextBytes = run.ContextBytes;
        foreach (var measured in run.Components)
        {
            entry.Components.RemoveAll(c => c.Model == measured.Model && c.Type == measured.Type);
            entry.Components.Add(ComponentEntry.From(measured, run));
        }

        entry.Components.Sort((a, b) => string.CompareOrdinal($"{a.Task}/{a.Model}/{a.Type}", $"{b.Task}/{b.Model}/{b.Type}"));
    }
}

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

    /// <summary>Fields written by other methods or newer planners, kept as they are when this one merges.</summary>
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }
}

public sealed class ComponentEntry
{
    public string Model { get; set; } = "";

    public string Task { get; set; } = "";

    public string Type { get; set; } = "";

    public string File { get; set; } = "";

    public long FileBytes { get; set; }

    /// <summary>The weights by static analysis of the file.</summary>
    public long WeightsBytes { get; set; }

    public SortedDictionary<string, long[]> Inputs { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The model's own share: what it added to the process after loading and at its peak.</summary>
    public ShareFigures Share { get; set; } = new();

    /// <summary>The process's readings the shares come from.</summary>
    public ProcessFigures Process { get; set; } = new();

    public double LoadSeconds { get; set; }

    public double RunSeconds { get; set; }

    public string Runtime { get; set; } = "";

    public DateTimeOffset MeasuredAt { get; set; }

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
internal sealed partial class MeasurementsJsonContext : JsonSerializerContext
{
    /// <summary>People read and diff this file: "+" and non-ASCII model names stay as they are, not \u escapes.</summary>
    public static MeasurementsJsonContext Readable { get; } = new(new JsonSerializerOptions(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
