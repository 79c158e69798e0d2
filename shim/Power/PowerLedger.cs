using System.Text.Json;
using System.Text.Json.Serialization;

namespace GpuSplit.Shim.Power;

/// <summary>
/// What the power loop must not forget when the shim restarts during a long absence: the Immich queues it paused (a
/// restarted shim would take them for an admin's pause and never resume them, and paused jobs would keep the box
/// awake as backlog forever) and the jobs lost since the last "Missing". A small JSON file, written whole and
/// atomically after every change; without a path, or when the file cannot be written, it lives in memory and says why.
/// Changed and saved by the power loop's policies alone, one turn at a time.
/// </summary>
public sealed partial class PowerLedger
{
    private readonly string? _path;
    private readonly ILogger _logger;
    private bool _writeFailed;

    public PowerLedger(string? path, ILogger<PowerLedger> logger)
    {
        _path = string.IsNullOrWhiteSpace(path) ? null : path;
        _logger = logger;
        if (_path is not null && Read(_path) is { } kept)
        {
            PausedByShim.UnionWith(kept.PausedByShim);
            foreach (var (queue, lost) in kept.Lost)
            {
                Lost[queue] = lost;
            }

            if (PausedByShim.Count + Lost.Count > 0)
            {
                LogKept(_logger, _path, string.Join(", ", PausedByShim.Order(StringComparer.Ordinal)), string.Join(", ", Lost.Keys.Order(StringComparer.Ordinal)));
            }
        }
    }

    /// <summary>A ledger that keeps nothing across a restart (tests, and the policies' own defaults).</summary>
    public static PowerLedger InMemory() => new(null, Microsoft.Extensions.Logging.Abstractions.NullLogger<PowerLedger>.Instance);

    /// <summary>Queues the shim paused and has not resumed yet.</summary>
    public HashSet<string> PausedByShim { get; } = new(StringComparer.Ordinal);

    /// <summary>Per queue, the jobs lost since its last "Missing".</summary>
    public Dictionary<string, LostJobs> Lost { get; } = new(StringComparer.Ordinal);

    /// <summary>Writes the ledger as it is now; a failure is logged once and the shim carries on from memory.</summary>
    public void Save()
    {
        if (_path is null)
        {
            return;
        }

        var file = new LedgerFile([.. PausedByShim.Order(StringComparer.Ordinal)], Lost);
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(_path))!);
            var temporary = _path + ".tmp";
            File.WriteAllText(temporary, JsonSerializer.Serialize(file, LedgerJson.Default.LedgerFile));
            File.Move(temporary, _path, overwrite: true);
            _writeFailed = false;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            if (!_writeFailed)
            {
                LogWriteFailed(_logger, _path, e.Message);
            }

            _writeFailed = true;
        }
    }

    private LedgerFile? Read(string path)
    {
        try
        {
            return File.Exists(path) ? JsonSerializer.Deserialize(File.ReadAllText(path), LedgerJson.Default.LedgerFile) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or JsonException)
        {
            LogReadFailed(_logger, path, e.Message);
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "power ledger {Path}: queues paused by the shim before its restart: [{Paused}]; queues with lost jobs: [{Lost}]")]
    private static partial void LogKept(ILogger logger, string path, string paused, string lost);

    [LoggerMessage(Level = LogLevel.Warning, Message = "power ledger {Path} cannot be written ({Reason}); paused queues and lost jobs are kept in memory only, and a restart forgets them")]
    private static partial void LogWriteFailed(ILogger logger, string path, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "power ledger {Path} cannot be read ({Reason}); starting with nothing paused or lost")]
    private static partial void LogReadFailed(ILogger logger, string path, string reason);
}

public sealed record LedgerFile(IReadOnlyList<string> PausedByShim, IReadOnlyDictionary<string, LostJobs> Lost);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, WriteIndented = true)]
[JsonSerializable(typeof(LedgerFile))]
internal sealed partial class LedgerJson : JsonSerializerContext;
