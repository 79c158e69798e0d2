using System.Text.Json;
using System.Text.Json.Serialization;
using GpuSplit.Agent.Evidence;
using GpuSplit.Agent.Hosting;
using Microsoft.Extensions.Options;

namespace GpuSplit.Agent.Footprints;

/// <summary>
/// The observations and the evidence records in <c>footprints.json</c> in the agent's data folder: read at start,
/// rewritten in one step (written aside, then renamed) after each new one, the oldest of each dropped beyond its
/// configured number. A folder the agent cannot write costs the file, never the agent: they are then kept in memory only.
/// </summary>
public sealed partial class FootprintStore
{
    public const string FileName = "footprints.json";
    private const int SchemaVersion = 1;

    private readonly Lock _gate = new();
    private readonly List<FootprintObservation> _observations = [];
    private readonly List<EvidenceEntry> _evidence = [];
    private readonly int _max;
    private readonly int _maxEvidence;
    private readonly ILogger<FootprintStore> _logger;
    private bool _writeFailed;

    public FootprintStore(IOptions<AgentOptions> options, ILogger<FootprintStore> logger)
    {
        _logger = logger;
        _max = options.Value.Footprints.MaxObservations;
        _maxEvidence = options.Value.Evidence.MaxRecords;
        Path = System.IO.Path.Combine(options.Value.EffectiveDataFolder, FileName);
        Load();
    }

    public string Path { get; }

    /// <summary>Grows with every change, so readers can tell a summary is stale.</summary>
    public int Version { get; private set; }

    public IReadOnlyList<FootprintObservation> Observations
    {
        get
        {
            lock (_gate)
            {
                return [.. _observations];
            }
        }
    }

    /// <summary>The evidence records, oldest first.</summary>
    public IReadOnlyList<EvidenceEntry> Evidence
    {
        get
        {
            lock (_gate)
            {
                return [.. _evidence];
            }
        }
    }

    public void Add(FootprintObservation observation) => Add(_observations, observation, _max);

    public void Add(EvidenceEntry entry) => Add(_evidence, entry, _maxEvidence);

    private void Add<T>(List<T> list, T item, int max)
    {
        lock (_gate)
        {
            list.Add(item);
            if (list.Count > max)
            {
                list.RemoveRange(0, list.Count - max);
            }

            Version++;
            Save();
        }
    }

    private void Load()
    {
        try
        {
            if (!File.Exists(Path))
            {
                return;
            }

            using var stream = File.OpenRead(Path);
            var file = JsonSerializer.Deserialize(stream, FootprintJson.Default.FootprintFile);
            if (file?.SchemaVersion != SchemaVersion)
            {
                LogUnreadable(_logger, Path, $"schema version {file?.SchemaVersion}, this agent reads {SchemaVersion}");
                return;
            }

            _observations.AddRange(file.Observations.TakeLast(_max));
            // Files of agents before the evidence have none.
            _evidence.AddRange((file.Evidence ?? []).TakeLast(_maxEvidence));
            LogLoaded(_logger, _observations.Count, _evidence.Count, Path);
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException or JsonException)
        {
            // A damaged file must not keep the agent from watching the worker; the next observation replaces it.
            LogUnreadable(_logger, Path, error.Message);
        }
    }

    private void Save()
    {
        var temporary = Path + ".tmp";
        try
        {
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path)!);
            using (var stream = File.Create(temporary))
            {
                JsonSerializer.Serialize(stream, new FootprintFile(SchemaVersion, [.. _observations], [.. _evidence]), FootprintJson.Default.FootprintFile);
            }

            File.Move(temporary, Path, overwrite: true);
            _writeFailed = false;
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            if (!_writeFailed)
            {
                LogUnwritable(_logger, Path, error.Message);
            }

            _writeFailed = true;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Count} footprint observations and {Evidence} evidence records read from {Path}")]
    private static partial void LogLoaded(ILogger logger, int count, int evidence, string path);

    [LoggerMessage(Level = LogLevel.Warning, Message = "footprint observations in {Path} cannot be read ({Reason}); starting without them")]
    private static partial void LogUnreadable(ILogger logger, string path, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "footprint observations cannot be written to {Path} ({Reason}); keeping them in memory (set Agent:DataFolder)")]
    private static partial void LogUnwritable(ILogger logger, string path, string reason);
}

public sealed record FootprintFile(int SchemaVersion, IReadOnlyList<FootprintObservation> Observations, IReadOnlyList<EvidenceEntry>? Evidence);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, WriteIndented = true)]
[JsonSerializable(typeof(FootprintFile))]
internal sealed partial class FootprintJson : JsonSerializerContext;
