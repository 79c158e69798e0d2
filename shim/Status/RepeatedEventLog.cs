namespace GpuSplit.Shim.Status;

/// <summary>
/// The log of events that come once per request and repeat for as long as their cause lasts: a search refused while
/// the GPU host sleeps, a malformed request from a broken client. The first of a kind is logged at once; the same
/// event again within <see cref="Window"/> is only counted, and one summary line per window says how many there were
/// ("Refused 801 more search requests in the last 60 s: ..."). A window with no repeat ends the summary, so the next
/// one is logged at once again. The metrics count every single one; this keeps a night's outage to a few lines.
/// </summary>
public sealed class RepeatedEventLog : IDisposable
{
    /// <summary>How often repeats are summed up in one line.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromSeconds(60);

    private readonly ILogger<RepeatedEventLog> _logger;
    private readonly Lock _gate = new();
    private readonly Dictionary<RepeatKey, Repeats> _open = [];
    private readonly ITimer _timer;

    public RepeatedEventLog(TimeProvider time, ILogger<RepeatedEventLog> logger)
    {
        _logger = logger;
        _timer = time.CreateTimer(_ => Summarise(), null, Window, Window);
    }

    /// <summary>A request was answered 503 at once (no box serves): <paramref name="reason"/> is the state word, <paramref name="detail"/> what the client was told.</summary>
    public void Refused(string kind, string reason, string detail)
    {
        if (First(new RepeatKey(RepeatedEvent.Refused, kind, reason), detail))
        {
            RepeatLog.Refused(_logger, kind, reason);
        }
    }

    /// <summary>A request was refused before classification (malformed or unsafe).</summary>
    public void Rejected(int statusCode, string error, string detail)
    {
        if (First(new RepeatKey(RepeatedEvent.Rejected, statusCode.ToString(System.Globalization.CultureInfo.InvariantCulture), error), detail))
        {
            RepeatLog.Rejected(_logger, statusCode, error, detail);
        }
    }

    public void Dispose() => _timer.Dispose();

    /// <returns>Whether this is the first of its kind in the current window, to be logged now.</returns>
    private bool First(RepeatKey key, string detail)
    {
        lock (_gate)
        {
            if (_open.TryGetValue(key, out var repeats))
            {
                repeats.Count++;
                repeats.LastDetail = detail;
                return false;
            }

            _open[key] = new Repeats();
            return true;
        }
    }

    private void Summarise()
    {
        List<(RepeatKey Key, int Count, string Detail)> lines = [];
        lock (_gate)
        {
            foreach (var (key, repeats) in _open)
            {
                if (repeats.Count == 0)
                {
                    // Quiet for a whole window: the next one is news again.
                    _open.Remove(key);
                    continue;
                }

                lines.Add((key, repeats.Count, repeats.LastDetail));
                repeats.Count = 0;
            }
        }

        foreach (var (key, count, detail) in lines)
        {
            if (key.Event == RepeatedEvent.Refused)
            {
                RepeatLog.RefusedRepeats(_logger, count, key.First, Window.TotalSeconds, detail);
            }
            else
            {
                RepeatLog.RejectedRepeats(_logger, count, key.First, key.Second, Window.TotalSeconds, detail);
            }
        }
    }

    private enum RepeatedEvent
    {
        Refused,
        Rejected,
    }

    private readonly record struct RepeatKey(RepeatedEvent Event, string First, string Second);

    private sealed class Repeats
    {
        public int Count { get; set; }

        public string LastDetail { get; set; } = "";
    }
}

internal static partial class RepeatLog
{
    [LoggerMessage(EventId = 204, Level = LogLevel.Information, Message = "Refused a {Kind} request at once: {Reason}")]
    public static partial void Refused(ILogger logger, string kind, string reason);

    [LoggerMessage(EventId = 205, Level = LogLevel.Information, Message = "Rejected a request with {StatusCode} {Error}: {Detail}")]
    public static partial void Rejected(ILogger logger, int statusCode, string error, string detail);

    [LoggerMessage(EventId = 211, Level = LogLevel.Information, Message = "Refused {Count} more {Kind} requests at once in the last {Seconds:0} s: {Detail}")]
    public static partial void RefusedRepeats(ILogger logger, int count, string kind, double seconds, string detail);

    [LoggerMessage(EventId = 212, Level = LogLevel.Information, Message = "Rejected {Count} more requests with {StatusCode} {Error} in the last {Seconds:0} s: {Detail}")]
    public static partial void RejectedRepeats(ILogger logger, int count, string statusCode, string error, double seconds, string detail);
}
