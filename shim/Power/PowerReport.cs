namespace GpuSplit.Shim.Power;

/// <summary>What the power loop last decided, for the status page, <c>/status.json</c> and the logs.</summary>
/// <param name="Immich">Null while the Immich API answers; otherwise why it cannot be used (no key, 401, unreachable).</param>
/// <param name="Backlog">Jobs in Immich's ML queues at the last reading; null when unknown.</param>
/// <param name="PausedByShim">ML queues the shim paused and has not resumed yet.</param>
/// <param name="LostSinceMissing">Queues that lost jobs since their last "Missing".</param>
public sealed record PowerReport(
    DateTimeOffset At,
    bool ImmichEnabled,
    string? Immich,
    long? Backlog,
    IReadOnlyList<BoxPowerReport> Boxes,
    IReadOnlyList<string> PausedByShim,
    DateTimeOffset? PausedSince,
    IReadOnlyDictionary<string, LostJobs> LostSinceMissing,
    IReadOnlyList<PowerEvent> Events)
{
    public static readonly PowerReport Initial = new(DateTimeOffset.MinValue, false, "Immich's queues not read yet", null, [], [], null,
        new Dictionary<string, LostJobs>(), []);
}

/// <param name="Wake">The wake decision for this box; null when it has no Wake-on-LAN configured.</param>
/// <param name="LastPacket">The last magic packet sent (or tried) for this box.</param>
/// <param name="Sleep">The idle policy's last word for this box ("idle for 3 of 15 min", "the agent refused ...").</param>
public sealed record BoxPowerReport(string Name, WakeDecision? Wake, WakeResult? LastPacket, string Sleep);

public sealed record PowerEvent(DateTimeOffset At, string Text);
