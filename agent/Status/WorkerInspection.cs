namespace GpuSplit.Agent.Status;

/// <summary>The worker container as Docker last described it.</summary>
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
    bool Tty);
