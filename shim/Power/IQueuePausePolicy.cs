namespace GpuSplit.Shim.Power;

/// <summary>Decides when Immich's ML queues are paused (so no job starts and is dropped) and when they are resumed.</summary>
public interface IQueuePausePolicy
{
    /// <summary>The queues this shim paused and has not yet resumed; never a queue an admin paused.</summary>
    IReadOnlyCollection<string> PausedByShim { get; }

    QueueDecision Decide(QueueInput input);

    /// <summary>The loop carried out (part of) a decision: these queues now are paused, or resumed.</summary>
    void Confirm(QueueAction action, IEnumerable<string> queues);
}

/// <param name="Serving">Some GPU box's agent reports SERVING.</param>
/// <param name="AwaySince">Since when no box has been serving; null while one serves.</param>
/// <param name="Backlog">Immich's ML queues; null when unknown.</param>
public sealed record QueueInput(bool Serving, DateTimeOffset? AwaySince, MlBacklog? Backlog);

public enum QueueAction
{
    None,
    Pause,
    Resume,
}

public sealed record QueueDecision(QueueAction Action, IReadOnlyList<string> Queues, string Reason)
{
    public static QueueDecision Nothing(string reason) => new(QueueAction.None, [], reason);
}
