using GpuSplit.Shim.Power;

namespace GpuSplit.Shim.Status;

/// <summary>The power loop on the status page and in <c>/status.json</c>: waking, sleeping, Immich's queues.</summary>
/// <param name="ImmichApi">"on", or the sentence saying why not ("Immich API key not configured ...", a 401, unreachable).</param>
/// <param name="Backlog">Jobs in Immich's smartSearch, faceDetection and ocr queues at the last reading.</param>
/// <param name="PausedQueues">Immich queues the shim paused and has not resumed yet.</param>
/// <param name="Lost">Queues that lost jobs since their last "Missing".</param>
public sealed record PowerSummary(
    string ImmichApi,
    long? Backlog,
    IReadOnlyList<BoxPowerSummary> Boxes,
    IReadOnlyList<string> PausedQueues,
    DateTimeOffset? PausedSince,
    IReadOnlyList<LostSummary> Lost)
{
    public const string ApiOn = "on";

    public static PowerSummary From(PowerReport report) => new(
        report.Immich ?? ApiOn,
        report.Backlog,
        [.. report.Boxes.Select(b => new BoxPowerSummary(
            b.Name,
            b.Wake is { } wake ? Word(wake.State) : "off",
            b.Wake is { State: not WakeState.Idle } active ? active.Since : null,
            b.Wake is { } w ? PowerLoop.Describe(w) : "Wake-on-LAN not configured (Shim__Upstreams__N__Wake__Mac)",
            b.LastPacket?.At,
            b.LastPacket?.Error,
            b.Sleep))],
        report.PausedByShim,
        report.PausedSince,
        [.. report.LostSinceMissing.OrderBy(l => l.Key, StringComparer.Ordinal).Select(l => new LostSummary(l.Key, l.Value.Count, l.Value.Since))]);

    private static string Word(WakeState state) => state switch
    {
        WakeState.Waking => "waking",
        WakeState.Quiet => "quiet-hours",
        WakeState.GaveUp => "gave-up",
        _ => "idle",
    };
}

/// <param name="Wake">idle, waking, quiet-hours, gave-up, or off (no Wake-on-LAN configured).</param>
/// <param name="WakeSince">Since when the wake state holds (null while idle).</param>
/// <param name="WakeText">The sentence: "waking since ...: 3 held job(s) waiting", "gave up waking: ...".</param>
/// <param name="Sleep">The idle policy's word ("idle for 3 of 15 min", "asked to sleep: ...", "the agent refused ...").</param>
public sealed record BoxPowerSummary(string Name, string Wake, DateTimeOffset? WakeSince, string WakeText, DateTimeOffset? LastPacketAt,
    string? LastPacketError, string Sleep);

public sealed record LostSummary(string Queue, int Count, DateTimeOffset Since);
