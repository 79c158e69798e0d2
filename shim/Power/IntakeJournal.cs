using System.Text;
using System.Text.Unicode;
using GpuSplit.Shim.Classification;
using GpuSplit.Shim.Status;

namespace GpuSplit.Shim.Power;

/// <summary>
/// Writes down every background job of an Immich queue when it is taken in and again when it is answered, in an
/// append-only file beside the power ledger, so that a shim killed with jobs held or in flight (a crash, kill -9, an
/// out-of-memory kill, a container restart) counts them lost when it starts again, and the power loop presses
/// "Missing" for them. The request appends its line itself, one write to the page cache, and the file is rewritten
/// with the jobs still open when it grows past <see cref="CompactAboveBytes"/>. A graceful stop empties it: every job
/// still open then gets its answer (a 503 counted lost) from the stopping shim itself.
/// </summary>
/// <remarks>
/// Not synced to disk: what the kernel has taken survives the shim's death, which is what the file is for. A power
/// cut of the always-on box stops Immich with it; the lines of the last few seconds before one (the file system's commit
/// interval) may be missing after it. Syncing once per batch meant, at one connection, two fsyncs per job and a writer
/// thread woken for each (strace; docs/shim.md, "Resources").
/// </remarks>
public sealed partial class IntakeJournal : IHostedService, IDisposable
{
    public const long CompactAboveBytes = 1024 * 1024;

    private readonly Lock _lock = new();
    private readonly Dictionary<long, MlRequestKind> _open = [];
    private readonly string? _path;
    private readonly ShimJournal _journal;
    private readonly ILogger<IntakeJournal> _logger;
    private FileStream? _file;
    private long _lastId;

    public IntakeJournal(string? ledgerPath, ShimJournal journal, ILogger<IntakeJournal> logger)
    {
        _path = string.IsNullOrWhiteSpace(ledgerPath) ? null : Path.ChangeExtension(Path.GetFullPath(ledgerPath), ".intake");
        _journal = journal;
        _logger = logger;
    }

    /// <summary>Notes a job taken in; returns its number for <see cref="Answered"/>, or 0 when it is not written down.</summary>
    public long TakeIn(MlRequestKind kind)
    {
        if (_path is null || PowerSignals.QueueOf(kind) is null)
        {
            return 0;
        }

        var id = Interlocked.Increment(ref _lastId);
        Span<byte> line = stackalloc byte[64];
        Utf8.TryWrite(line, $"+{id} {kind.Label()}\n", out var length);
        lock (_lock)
        {
            _open[id] = kind;
            Append(line[..length]);
        }

        return id;
    }

    /// <summary>Notes that the job got its answer, or was counted lost, or its client went away: nothing to recover.</summary>
    public void Answered(long id)
    {
        if (id == 0)
        {
            return;
        }

        Span<byte> line = stackalloc byte[32];
        Utf8.TryWrite(line, $"-{id}\n", out var length);
        lock (_lock)
        {
            if (_open.Remove(id))
            {
                Append(line[..length]);
            }
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (_path is not null)
        {
            Recover(_path);
            lock (_lock)
            {
                try
                {
                    _file = Open(_path, FileMode.Create);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    Failed(e);
                }
            }
        }

        return Task.CompletedTask;
    }

    /// <summary>A graceful stop: the jobs still open are answered by the stopping shim.</summary>
    public Task StopAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            try
            {
                _file?.SetLength(0);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Failed(e);
            }

            Close();
        }

        return Task.CompletedTask;
    }

    public void Dispose()
    {
        lock (_lock)
        {
            Close();
        }
    }

    private void Append(ReadOnlySpan<byte> line)
    {
        if (_file is not { } file)
        {
            return;
        }

        try
        {
            file.Write(line);
            // Its position, which FileStream keeps, is its length (it only appends); Length would ask the file system.
            if (file.Position > CompactAboveBytes)
            {
                Compact(file);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Failed(e);
        }
    }

    /// <summary>Only the jobs still open, written beside and swapped in whole: a crash mid-way leaves the old file.</summary>
    private void Compact(FileStream file)
    {
        var compacted = _path + ".tmp";
        using (var fresh = Open(compacted, FileMode.Create))
        {
            fresh.Write(Encoding.ASCII.GetBytes(string.Concat(_open.Select(o => $"+{o.Key} {o.Value.Label()}\n"))));
        }

        file.Dispose();
        _file = null;
        File.Move(compacted, _path!, overwrite: true);
        _file = Open(_path!, FileMode.Append);
    }

    /// <summary>A file that cannot be written is said once; later jobs are then not written down.</summary>
    private void Failed(Exception e)
    {
        LogWriteFailed(_logger, _path!, e.Message);
        Close();
    }

    private void Close()
    {
        _file?.Dispose();
        _file = null;
    }

    /// <summary>Counts the jobs the last run took in and never answered as lost, then starts the file afresh.</summary>
    private void Recover(string path)
    {
        string[] lines;
        try
        {
            lines = File.Exists(path) ? File.ReadAllLines(path) : [];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogReadFailed(_logger, path, e.Message);
            return;
        }

        var open = new Dictionary<long, MlRequestKind>();
        foreach (var line in lines)
        {
            // A line cut short by the crash is skipped; its job is then not counted (or counted open, if its answer was cut).
            var space = line.IndexOf(' ', StringComparison.Ordinal);
            if (line.StartsWith('+') && space > 1 && long.TryParse(line.AsSpan(1, space - 1), out var id) && KindOf(line[(space + 1)..]) is { } kind)
            {
                open[id] = kind;
            }
            else if (line.StartsWith('-') && long.TryParse(line.AsSpan(1), out var answered))
            {
                open.Remove(answered);
            }
        }

        foreach (var kind in open.Values)
        {
            _journal.LostBeforeRestart(kind);
        }

        if (open.Count > 0)
        {
            LogRecovered(_logger, open.Count, path);
        }
    }

    private static FileStream Open(string path, FileMode mode)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        return new FileStream(path, mode, FileAccess.Write, FileShare.Read, bufferSize: 0);
    }

    private static MlRequestKind? KindOf(string label) =>
        Enum.GetValues<MlRequestKind>().Where(k => k.Label() == label).Cast<MlRequestKind?>().FirstOrDefault();

    [LoggerMessage(Level = LogLevel.Warning, Message = "intake journal {Path}: {Count} job(s) taken in before the shim last stopped were never answered; counted lost")]
    private static partial void LogRecovered(ILogger logger, int count, string path);

    [LoggerMessage(Level = LogLevel.Warning, Message = "intake journal {Path} cannot be written ({Reason}); jobs held when the shim is killed are not counted lost after its restart")]
    private static partial void LogWriteFailed(ILogger logger, string path, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "intake journal {Path} cannot be read ({Reason}); jobs held when the shim last stopped are not counted")]
    private static partial void LogReadFailed(ILogger logger, string path, string reason);
}
