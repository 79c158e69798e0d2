namespace GpuSplit.Agent.Status;

/// <summary>The worker container as Docker last described it.</summary>
/// <param name="Workers">Its ML worker processes: MACHINE_LEARNING_WORKERS in its environment, Immich's default 1 without it.</param>
public sealed record WorkerInspection(
    string Id,
    string Name,
    string Image,
    bool Running,
    string Status,
    bool OomKilled,
    long ExitCode,
    DateTimeOffset? StartedAt,
    DateTimeOffset? FinishedAt,
    bool Tty,
    int Workers = 1);
