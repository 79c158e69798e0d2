using Microsoft.Extensions.Options;

namespace GpuSplit.Shim.Power;

/// <summary>
/// Ask the box to sleep when no ML request has arrived for the idle time (counted from when it last started serving,
/// so a box just woken is not sent back at once) and Immich's ML queues are empty. Unknown queues mean no: work could
/// be waiting. Asked once per awake period; after a refusal (a game holds the GPU) asked again after the retry interval.
/// </summary>
public sealed class IdlePolicy(IOptions<PowerOptions> options, TimeProvider time) : IIdlePolicy
{
    private readonly PowerOptions _options = options.Value;
    private DateTimeOffset? _servingSince;
    private DateTimeOffset? _askedAt;
    private string? _askedFor;
    private bool _accepted;
    private string? _refusal;

    public IdleDecision Decide(IdleInput input)
    {
        var now = time.GetUtcNow();
        if (!input.Serving)
        {
            // Away (asleep, or restarting): the next awake period starts afresh.
            _servingSince = null;
            _askedAt = null;
            _accepted = false;
            _refusal = null;
            return new IdleDecision(false, "the box is not serving");
        }

        _servingSince ??= now;
        if (!_options.SleepWhenIdle)
        {
            return new IdleDecision(false, "sleeping when idle is turned off (Shim:Power:SleepWhenIdle)");
        }

        if (_accepted)
        {
            return new IdleDecision(false, $"asked to sleep: {_askedFor}");
        }

        if (input.Busy > 0)
        {
            return new IdleDecision(false, $"{input.Busy} request(s) in flight or held");
        }

        var idleFrom = input.LastWorkAt is { } last && last > _servingSince ? last : _servingSince.Value;
        var idle = now - idleFrom;
        if (idle < _options.IdleTime)
        {
            return new IdleDecision(false, $"idle for {idle.TotalMinutes:0.#} of {_options.IdleTime.TotalMinutes:0.#} min");
        }

        if (input.Backlog is not { } backlog)
        {
            return new IdleDecision(false, "Immich's ML queues cannot be read, so work may be waiting");
        }

        if (backlog.Total > 0)
        {
            return new IdleDecision(false, $"{backlog.Total} jobs in Immich's ML queues");
        }

        if (_askedAt is { } asked && now - asked < _options.SleepRetryInterval)
        {
            return new IdleDecision(false, $"the agent refused to sleep: {_refusal}");
        }

        _askedAt = now;
        _askedFor = $"no ML work for {idle.TotalMinutes:0.#} min and Immich's ML queues are empty";
        return new IdleDecision(true, _askedFor);
    }

    public void Answered(bool accepted, string message)
    {
        _accepted = accepted;
        _refusal = accepted ? null : message;
    }
}
