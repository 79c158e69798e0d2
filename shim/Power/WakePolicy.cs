using System.Globalization;
using Microsoft.Extensions.Options;

namespace GpuSplit.Shim.Power;

/// <summary>
/// Wake the box when work waits for it: any held job (Immich drops it when the hold limit runs out), or a backlog in
/// Immich's ML queues at or above the threshold. Never in the quiet hours; at most one packet per interval; and after
/// <see cref="PowerOptions.WakeGiveUpAfter"/> without an answer from the agent it stops and says why, since packets
/// that never wake the box (Wake-on-LAN off in the BIOS, wrong MAC, a router that drops broadcasts) would only
/// hide the fault; it tries another round after <see cref="PowerOptions.WakeRetryAfterGiveUp"/>. Holds state for one
/// box; call from one loop.
/// </summary>
public sealed class WakePolicy(IOptions<PowerOptions> options, TimeProvider time) : IWakePolicy
{
    private readonly PowerOptions _options = options.Value;
    private WakeState _state = WakeState.Idle;
    private DateTimeOffset _since = time.GetUtcNow();
    private DateTimeOffset? _lastPacket;
    private string _reason = "no work waiting";

    public WakeDecision Current => Snapshot(send: false);

    public WakeDecision Decide(WakeInput input)
    {
        var now = time.GetUtcNow();
        if (input.AgentAnswering)
        {
            return Become(WakeState.Idle, now, "the box is awake");
        }

        var why = WhyWake(input);
        if (why is null)
        {
            return Become(WakeState.Idle, now, "no work waiting");
        }

        if (_options.QuietHours.Contains(TimeOnly.FromDateTime(time.GetLocalNow().DateTime)))
        {
            return Become(WakeState.Quiet, now, $"{why}, but quiet hours until {_options.QuietHours.End:HH:mm}");
        }

        if (_state == WakeState.GaveUp)
        {
            if (now - _since < _options.WakeRetryAfterGiveUp)
            {
                return Snapshot(send: false);
            }

            // A new round: the owner may have switched Wake-on-LAN on or plugged the box back in, and paused queues
            // keep the backlog from ever going away by itself.
            _state = WakeState.Idle;
        }

        if (_state != WakeState.Waking)
        {
            Become(WakeState.Waking, now, why);
            _lastPacket = null;
        }

        if (now - _since >= _options.WakeGiveUpAfter)
        {
            return Become(WakeState.GaveUp, now,
                $"gave up waking: no answer from the agent {Minutes(now - _since)} after the first magic packet; " +
                "check Wake-on-LAN in the box's BIOS and network card, the MAC and the broadcast address");
        }

        _reason = why;
        if (_lastPacket is { } last && now - last < _options.WakeInterval)
        {
            return Snapshot(send: false);
        }

        _lastPacket = now;
        return Snapshot(send: true);
    }

    private string? WhyWake(WakeInput input)
    {
        if (input.HeldJobs > 0)
        {
            return $"{input.HeldJobs} held job(s) waiting";
        }

        return input.Backlog >= _options.BacklogThreshold
            ? $"{input.Backlog} jobs in Immich's ML queues (threshold {_options.BacklogThreshold})"
            : null;
    }

    private WakeDecision Become(WakeState state, DateTimeOffset now, string reason)
    {
        if (state != _state)
        {
            _state = state;
            _since = now;
        }

        _reason = reason;
        return Snapshot(send: false);
    }

    private WakeDecision Snapshot(bool send) => new(send, _state, _since, _reason);

    private static string Minutes(TimeSpan span) =>
        span.TotalMinutes >= 1 ? $"{span.TotalMinutes.ToString("0.#", CultureInfo.InvariantCulture)} min" : $"{span.TotalSeconds:0} s";
}
