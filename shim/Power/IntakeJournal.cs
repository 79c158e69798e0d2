using System.Text;
using System.Threading.Channels;
using GpuSplit.Shim.Classification;
using GpuSplit.Shim.Status;

namespace GpuSplit.Shim.Power;

/// <summary>
/// Writes down every background job of an Immich queue when it is taken in and again when it is answered, in an
/// append-only file beside the power ledger, so that a shim killed with jobs held or in flight (a crash, kill -9, a
/// power cut) counts them lost when it starts again, and the power loop presses "Missing" for them. The request path
/// only queues a line; one writer appends them and syncs the file to disk once per batch, and rewrites the file with
/// the jobs still open when it grows past <see cref="CompactAboveBytes"/>. A graceful stop empties it: every job
/// still open then gets its answer (a 503 counted lost) from the stopping shim itself.
/// </summary>
public sealed partial class IntakeJournal : BackgroundService
{
    public const long CompactAboveBytes = 1024 * 1024;

    private readonly Channel<Line> _lines = Channel.CreateUnbounded<Line>(new UnboundedChannelOptions { SingleReader = true });
    private readonly string? _path;
    private readonly ShimJournal _journal;
    private readonly ILogger<IntakeJournal> _logger;
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
        _lines.Writer.TryWrite(new Line(id, kind));
        return id;
    }

    /// <summary>Notes that the job got its answer, or was counted lost, or its client went away: nothing to recover.</summary>
    public void Answered(long id)
    {
        if (id != 0)
        {
            _lines.Writer.TryWrite(new Line(id, null));
        }
    }

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (_path is not null)
        {
            Recover(_path);
        }

        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_path is null)
        {
            return;
        }

        var open = new Dictionary<long, MlRequestKind>();
        var text = new StringBuilder();
        FileStream? file = null;
        try
        {
            file = Open(_path, FileMode.Create);
            while (await _lines.Reader.WaitToReadAsync(stoppingToken))
            {
                text.Clear();
                while (_lines.Reader.TryRead(out var line))
                {
                    if (line.Kind is { } kind)
                    {
                        open[line.Id] = kind;
                        text.Append('+').Append(line.Id).Append(' ').Append(kind.Label()).Append('\n');
                    }
                    else if (open.Remove(line.Id))
                    {
                        text.Append('-').Append(line.Id).Append('\n');
                    }
                }

                file = Write(file, text, open);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // A graceful stop: the jobs still open are answered by the stopping shim.
            file?.SetLength(0);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogWriteFailed(_logger, _path, e.Message);
        }
        finally
        {
            // Nobody writes the lines any more: later ones are refused rather than kept in memory.
            _lines.Writer.TryComplete();
            file?.Dispose();
        }
    }

    private FileStream Write(FileStream file, StringBuilder text, Dictionary<long, MlRequestKind> open)
    {
        if (text.Length > 0)
        {
            file.Write(Encoding.ASCII.GetBytes(text.ToString()));
            file.Flush(flushToDisk: true);
        }

        if (file.Length <= CompactAboveBytes)
        {
            return file;
        }

        // Only the jobs still open, written beside and swapped in whole: a crash mid-way leaves the old file.
        var compacted = _path + ".tmp";
        using (var fresh = Open(compacted, FileMode.Create))
        {
            fresh.Write(Encoding.ASCII.GetBytes(string.Concat(open.Select(o => $"+{o.Key} {o.Value.Label()}\n"))));
            fresh.Flush(flushToDisk: true);
        }

        file.Dispose();
        File.Move(compacted, _path!, overwrite: true);
        return Open(_path!, FileMode.Append);
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

    private readonly record struct Line(long Id, MlRequestKind? Kind);

    [LoggerMessage(Level = LogLevel.Warning, Message = "intake journal {Path}: {Count} job(s) taken in before the shim last stopped were never answered; counted lost")]
    private static partial void LogRecovered(ILogger logger, int count, string path);

    [LoggerMessage(Level = LogLevel.Warning, Message = "intake journal {Path} cannot be written ({Reason}); jobs held when the shim is killed are not counted lost after its restart")]
    private static partial void LogWriteFailed(ILogger logger, string path, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "intake journal {Path} cannot be read ({Reason}); jobs held when the shim last stopped are not counted")]
    private static partial void LogReadFailed(ILogger logger, string path, string reason);
}
