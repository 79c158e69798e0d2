namespace GpuSplit.Shim.Status;

/// <summary>Everything the status page, <c>/status.json</c> and the badge show. Never holds an agent token.</summary>
public sealed record StatusSnapshot(
    DateTimeOffset GeneratedAt,
    string Badge,
    StateSummary Host,
    StateSummary Jobs,
    bool AcceptingWork,
    HoldReport Hold,
    JobTotals Totals,
    IReadOnlyList<UpstreamReport> Upstreams,
    PowerSummary Power,
    IReadOnlyList<StatusEvent> Events);

/// <summary>A state word (for colours and dashboards) and the phrase a person reads.</summary>
public sealed record StateSummary(string State, string Text);

public sealed record HoldReport(int Held, int Capacity, double LimitSeconds);

public sealed record UpstreamReport(
    string Name,
    string Url,
    string Agent,
    string State,
    string Condition,
    string Reason,
    DateTimeOffset Since,
    int InFlight,
    WorkerReport? Worker,
    IReadOnlyList<GpuReport> Gpus);

public sealed record WorkerReport(string Container, string State, uint Restarts, string? LastFailure);

public sealed record GpuReport(uint Index, string Name, ulong MemoryTotalBytes, ulong MemoryUsedBytes, ulong MemoryFreeBytes, uint UtilizationPercent);
