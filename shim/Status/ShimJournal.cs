using GpuSplit.Shim.Classification;
using GpuSplit.Shim.Forwarding;
using GpuSplit.Shim.Upstreams;

namespace GpuSplit.Shim.Status;

/// <summary>Running totals shown on the status page.</summary>
/// <param name="Replayed">Jobs sent again from their spool after a box failed before answering (one job may count twice).</param>
/// <param name="ClientAborts">Requests whose client went away before its answer was sent (neither lost nor rejected).</param>
public sealed record JobTotals(long Forwarded, long Held, long Released, long Replayed, long Lost, long SearchesRefused, long Rejected, long ClientAborts);

/// <summary>Where a request was when its client went away: the <c>stage</c> of <c>shim_client_aborts_total</c>.</summary>
public static class ClientStages
{
    /// <summary>While its form's start was read, before it was forwarded or held.</summary>
    public const string BeforeForwarding = "before-forwarding";

    /// <summary>While it waited for a GPU box.</summary>
    public const string Held = "held";

    /// <summary>While its body streamed to the box: the box got part of it and cannot have done the job.</summary>
    public const string MidUpload = "mid-upload";

    /// <summary>After the whole body went to the box: the box may have done the job, so it counts as forwarded there.</summary>
    public const string AfterUpload = "after-upload";

    /// <summary>The outcome in <c>shim_forwarded_total</c> of a job whose client left after its body went to the box.</summary>
    public const string ForwardedOutcome = "client-gone";
}

/// <summary>A line in the status page's list of recent events.</summary>
public sealed record StatusEvent(DateTimeOffset At, string Text);

/// <summary>
/// Records what happened, once, for everyone who needs it: every decision counted by kind and reason in the
/// metrics, totals and recent events for the status page, and the log lines (a lost job is a warning; what repeats
/// once per request goes to <see cref="RepeatedEventLog"/>, summed up).
/// </summary>
public sealed class ShimJournal(
    ShimMetrics metrics, IEnumerable<IJournalObserver> observers, RepeatedEventLog repeats, TimeProvider time, ILogger<ShimJournal> logger)
    : IUpstreamObserver
{
    private const int EventCapacity = 30;
    private const string Unclassified = "unclassified";
    private const string SearchFallbackName = "search-fallback";
    private static readonly string[] StatusClasses = ["1xx", "2xx", "3xx", "4xx", "5xx"];
    private readonly Lock _gate = new();
    private readonly Queue<StatusEvent> _events = new();
    private readonly IJournalObserver[] _observers = [.. observers];
    private long _forwarded;
    private long _held;
    private long _released;
    private long _replayed;
    private long _lost;
    private long _searchesRefused;
    private long _rejected;
    private long _clientAborts;

    public JobTotals Totals => new(
        Interlocked.Read(ref _forwarded), Interlocked.Read(ref _held), Interlocked.Read(ref _released), Interlocked.Read(ref _replayed),
        Interlocked.Read(ref _lost), Interlocked.Read(ref _searchesRefused), Interlocked.Read(ref _rejected), Interlocked.Read(ref _clientAborts));

    /// <summary>Newest first.</summary>
    public IReadOnlyList<StatusEvent> RecentEvents
    {
        get
        {
            lock (_gate)
            {
                return _events.Reverse().ToArray();
            }
        }
    }

    public void Forwarded(MlRequestKind kind, Upstream upstream, ForwardOutcome outcome, TimeSpan? heldFor)
    {
        metrics.Decisions.WithLabels(kind.Label(), "forward", heldFor is null ? "serving" : "released").Inc();
        Interlocked.Increment(ref _forwarded);
        Tell(kind, static (o, k) => o.RequestSeen(k));
        if (heldFor is { } waited)
        {
            Interlocked.Increment(ref _released);
            metrics.HoldSeconds.WithLabels(kind.Label()).Observe(waited.TotalSeconds);
            JournalLog.Released(logger, kind.Label(), upstream.Name, waited.TotalSeconds);
        }

        var answered = outcome.Result == ForwardResult.Answered;
        metrics.Forwarded.WithLabels(upstream.Name, answered ? StatusClass(outcome.StatusCode) : outcome.Error.ToString()).Inc();
        if (!answered)
        {
            JournalLog.ForwardFailed(logger, kind.Label(), upstream.Name, outcome.Error.ToString(), outcome.Detail ?? "");
            if (!kind.IsInteractive())
            {
                Lose(kind, "upstream-error", $"{upstream.Name} failed mid-request ({outcome.Detail})", heldFor);
            }
        }
    }

    /// <summary>No GPU box serves, so a search query went to the CPU fallback.</summary>
    public void SearchFallback(MlRequestKind kind, Uri fallback, ForwardOutcome outcome)
    {
        metrics.Decisions.WithLabels(kind.Label(), "forward", "search-fallback").Inc();
        metrics.Forwarded.WithLabels(SearchFallbackName, outcome.Result == ForwardResult.Answered ? StatusClass(outcome.StatusCode) : outcome.Error.ToString()).Inc();
        Interlocked.Increment(ref _forwarded);
        Tell(kind, static (o, k) => o.RequestSeen(k));
        JournalLog.SearchFallback(logger, fallback.Authority, outcome.Result == ForwardResult.Answered ? outcome.StatusCode.ToString(System.Globalization.CultureInfo.InvariantCulture) : outcome.Detail ?? "");
    }

    public void SearchFallbackUnreachable(Uri fallback, string? detail)
    {
        JournalLog.SearchFallbackUnreachable(logger, fallback.Authority, detail ?? "");
        AddEvent($"The search fallback at {fallback.Authority} took no connection ({detail}); searches are refused while the GPU host is away");
    }

    /// <summary>A job's box failed before answering, for a reason worth waiting out: it is held and sent again from its spool.</summary>
    public void Replaying(MlRequestKind kind, Upstream upstream, string reason, string detail)
    {
        metrics.Replays.WithLabels(kind.Label(), reason).Inc();
        Interlocked.Increment(ref _replayed);
        JournalLog.Replaying(logger, kind.Label(), upstream.Name, reason, detail);
        AddEvent($"A {kind.Label()} job will be sent again ({reason}): {upstream.Name} failed before answering");
    }

    public void Held(MlRequestKind kind, UpstreamHealth cause)
    {
        metrics.Decisions.WithLabels(kind.Label(), "hold", cause.State).Inc();
        Interlocked.Increment(ref _held);
        Tell(kind, static (o, k) =>
        {
            o.RequestSeen(k);
            o.JobHeld(k);
        });
        JournalLog.Holding(logger, kind.Label(), cause.State);
    }

    public void Refused(MlRequestKind kind, string reason, string detail, TimeSpan? heldFor)
    {
        metrics.Decisions.WithLabels(kind.Label(), "refuse", reason).Inc();
        Tell(kind, static (o, k) => o.RequestSeen(k));
        if (kind.IsInteractive())
        {
            Interlocked.Increment(ref _searchesRefused);
            repeats.Refused(kind.Label(), reason, detail);
            return;
        }

        Lose(kind, reason, detail, heldFor);
    }

    /// <summary>Refused before classification or admission: a malformed or unsafe request.</summary>
    public void Rejected(RequestProblem problem)
    {
        metrics.Decisions.WithLabels(Unclassified, "reject", problem.Error).Inc();
        Interlocked.Increment(ref _rejected);
        repeats.Rejected(problem.StatusCode, problem.Error, problem.Detail);
    }

    /// <summary>
    /// The client went away (Immich gave up, stopped, or its connection broke), or its body ended short: neither lost
    /// nor rejected, and not the box's doing. <paramref name="sentTo"/>: the box that got the whole body and may have
    /// done the job, counted there as forwarded.
    /// </summary>
    /// <param name="kind">Null when it went before its kind was known.</param>
    public void ClientGone(MlRequestKind? kind, string stage, Upstream? sentTo, TimeSpan? heldFor)
    {
        var label = kind?.Label() ?? Unclassified;
        metrics.ClientAborts.WithLabels(label, stage).Inc();
        Interlocked.Increment(ref _clientAborts);
        if (sentTo is not null)
        {
            metrics.Forwarded.WithLabels(sentTo.Name, ClientStages.ForwardedOutcome).Inc();
            Interlocked.Increment(ref _forwarded);
        }

        if (kind is { } seen)
        {
            Tell(seen, static (o, k) => o.RequestSeen(k));
        }

        JournalLog.ClientGone(logger, label, stage, heldFor?.TotalSeconds ?? 0);
    }

    /// <summary>A job the last run of the shim took in and never answered (it was killed): Immich has dropped it.</summary>
    public void LostBeforeRestart(MlRequestKind kind) =>
        Lose(kind, "shim-restart", "taken in before the shim stopped without answering it (killed or crashed)", null);

    public void HealthChanged(Upstream upstream, UpstreamHealth previous, UpstreamHealth current)
    {
        JournalLog.HealthChanged(logger, upstream.Name, previous.State, current.State, current.Reason);
        AddEvent(current.State == previous.State
            ? $"{upstream.Name}: still {current.State}, now {current.Reason}"
            : $"{upstream.Name}: {previous.State} → {current.State} ({current.Reason})");
    }

    /// <summary>"2xx" for 200-299 and so on; the five classes are made once, not per request.</summary>
    private static string StatusClass(int statusCode) =>
        statusCode is >= 100 and < 600 ? StatusClasses[(statusCode / 100) - 1] : $"{statusCode / 100}xx";

    private void Lose(MlRequestKind kind, string reason, string detail, TimeSpan? heldFor)
    {
        // The event first: a status that counts the loss (totals are read before events) then also tells it.
        AddEvent($"Lost a {kind.Label()} job ({reason}): {detail}");
        metrics.LostJobs.WithLabels(kind.Label(), reason).Inc();
        Interlocked.Increment(ref _lost);
        Tell(kind, static (o, k) => o.JobLost(k));
        JournalLog.LostJob(logger, kind.Label(), reason, heldFor?.TotalSeconds ?? 0, detail);
    }

    /// <summary>The news as a static lambda and its kind: no closure allocated per request.</summary>
    private void Tell(MlRequestKind kind, Action<IJournalObserver, MlRequestKind> news)
    {
        foreach (var observer in _observers)
        {
            news(observer, kind);
        }
    }

    private void AddEvent(string text)
    {
        lock (_gate)
        {
            if (_events.Count == EventCapacity)
            {
                _events.Dequeue();
            }

            _events.Enqueue(new StatusEvent(time.GetUtcNow(), text));
        }
    }
}

internal static partial class JournalLog
{
    [LoggerMessage(EventId = 200, Level = LogLevel.Information, Message = "{Upstream}: GPU host {Previous} -> {Current} ({Reason})")]
    public static partial void HealthChanged(ILogger logger, string upstream, string previous, string current, string reason);

    [LoggerMessage(EventId = 201, Level = LogLevel.Warning, Message = "Lost a {Kind} job ({Reason}) after {HeldSeconds:0.0} s held: {Detail}. Immich drops it; its Missing button brings it back")]
    public static partial void LostJob(ILogger logger, string kind, string reason, double heldSeconds, string detail);

    [LoggerMessage(EventId = 202, Level = LogLevel.Debug, Message = "Holding a {Kind} job: GPU host {State}")]
    public static partial void Holding(ILogger logger, string kind, string state);

    [LoggerMessage(EventId = 203, Level = LogLevel.Debug, Message = "Released a held {Kind} job to {Upstream} after {HeldSeconds:0.000} s")]
    public static partial void Released(ILogger logger, string kind, string upstream, double heldSeconds);

    [LoggerMessage(EventId = 206, Level = LogLevel.Information, Message = "A {Kind} client went away ({Stage}) after {HeldSeconds:0.0} s held; not counted lost")]
    public static partial void ClientGone(ILogger logger, string kind, string stage, double heldSeconds);

    [LoggerMessage(EventId = 208, Level = LogLevel.Debug, Message = "Search query answered by the search fallback at {Fallback}: {Outcome}")]
    public static partial void SearchFallback(ILogger logger, string fallback, string outcome);

    [LoggerMessage(EventId = 209, Level = LogLevel.Warning, Message = "The search fallback at {Fallback} took no connection ({Detail}); refusing the search query")]
    public static partial void SearchFallbackUnreachable(ILogger logger, string fallback, string detail);

    [LoggerMessage(EventId = 210, Level = LogLevel.Warning, Message = "{Upstream} failed a {Kind} job before answering ({Reason}): {Detail}. Holding it to send it again")]
    public static partial void Replaying(ILogger logger, string kind, string upstream, string reason, string detail);

    [LoggerMessage(EventId = 207, Level = LogLevel.Warning, Message = "Forwarding a {Kind} request to {Upstream} failed ({Error}): {Detail}")]
    public static partial void ForwardFailed(ILogger logger, string kind, string upstream, string error, string detail);
}
