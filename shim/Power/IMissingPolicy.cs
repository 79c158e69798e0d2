namespace GpuSplit.Shim.Power;

/// <summary>Remembers which queues lost jobs and decides when to press Immich's "Missing" for them.</summary>
public interface IMissingPolicy
{
    /// <summary>Queues that lost jobs since their last "Missing", with the count and since when.</summary>
    IReadOnlyDictionary<string, LostJobs> Affected { get; }

    /// <summary>The shim answered a background job of <paramref name="queue"/> with an error: Immich dropped it.</summary>
    void RecordLoss(string queue, DateTimeOffset at);

    /// <returns>The queues to press "Missing" for now.</returns>
    IReadOnlyList<string> Decide(MissingInput input);

    /// <summary>"Missing" went through for <paramref name="queue"/>; losses recorded after <paramref name="pressedAt"/> stay.</summary>
    void Confirm(string queue, DateTimeOffset pressedAt);
}

public sealed record LostJobs(int Count, DateTimeOffset Since, DateTimeOffset Last);

/// <param name="Serving">Some GPU box's agent reports SERVING.</param>
/// <param name="PausedByShim">Queues the shim has paused and not yet resumed.</param>
/// <param name="Backlog">Immich's ML queues; null when unknown.</param>
public sealed record MissingInput(bool Serving, IReadOnlyCollection<string> PausedByShim, MlBacklog? Backlog);
