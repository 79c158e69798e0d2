using GpuSplit.Shim.Immich;
using Microsoft.Extensions.Options;

namespace GpuSplit.Shim.Power;

/// <summary>
/// The power loop: each turn (every poll interval, or at once when nudged) it reads Immich's ML queues, wakes boxes
/// that work waits for, pauses the ML queues while no box serves past the hold limit and resumes them when one serves,
/// presses "Missing" for queues that lost jobs, and asks idle boxes to sleep. Runs beside the proxy: nothing it does
/// or fails to do touches a request.
/// </summary>
public sealed partial class PowerLoop : BackgroundService
{
    private const int MaxEvents = 20;
    private readonly IPowerInputs _inputs;
    private readonly PowerSignals _signals;
    private readonly IImmichApi _immich;
    private readonly IWakeOnLan _wakeOnLan;
    private readonly IAgentPower _agents;
    private readonly IQueuePausePolicy _pause;
    private readonly IMissingPolicy _missing;
    private readonly PowerOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<PowerLoop> _logger;
    private readonly Dictionary<int, (WakeTarget Target, WakePolicy Policy)> _wakers = [];
    private readonly Dictionary<int, WakeResult> _lastPackets = [];
    private readonly Dictionary<int, IdlePolicy> _idle = [];
    private readonly Dictionary<int, string> _sleep = [];
    private readonly Dictionary<int, SleepCall> _sleepCalls = [];
    private readonly List<PowerEvent> _events = [];
    private readonly SemaphoreSlim _turn = new(1, 1);
    private DateTimeOffset? _awaySince;
    private DateTimeOffset? _pausedSince;
    private MlBacklog? _backlog;
    private PowerReport _report = PowerReport.Initial;

    public PowerLoop(IPowerInputs inputs, PowerSignals signals, IImmichApi immich, IWakeOnLan wakeOnLan, IAgentPower agents, IQueuePausePolicy pause,
        IMissingPolicy missing, IOptions<PowerOptions> options, IOptions<WakeOnLanOptions> wake, TimeProvider time, ILogger<PowerLoop> logger)
    {
        (_inputs, _signals, _immich, _wakeOnLan, _agents, _pause, _missing) = (inputs, signals, immich, wakeOnLan, agents, pause, missing);
        (_options, _time, _logger) = (options.Value, time, logger);
        for (var i = 0; i < wake.Value.Upstreams.Count; i++)
        {
            if (wake.Value.Upstreams[i].Wake is { } target)
            {
                _wakers[i] = (WakeTarget.From(target), new WakePolicy(options, time));
            }
        }
    }

    public PowerReport Report => Volatile.Read(ref _report);

    public override void Dispose()
    {
        foreach (var call in _sleepCalls.Values)
        {
            call.Withdraw.Dispose();
        }

        _turn.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_immich.Enabled)
        {
            LogImmichOff(_logger, ImmichOptions.DisabledReason);
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await RunOnceAsync(stoppingToken);
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
                await Task.WhenAny(Task.Delay(_options.PollInterval, _time, wait.Token), _signals.WaitForNudgeAsync(wait.Token));
                await wait.CancelAsync();
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                // The proxy must keep running whatever the loop trips over; the next turn starts afresh.
                LogTurnFailed(_logger, e);
                await Task.Delay(_options.PollInterval, _time, stoppingToken);
            }
        }
    }

    /// <summary>One turn of the loop; tests drive it directly with a fake clock.</summary>
    public async Task RunOnceAsync(CancellationToken cancellationToken)
    {
        await _turn.WaitAsync(cancellationToken);
        try
        {
            await TurnAsync(cancellationToken);
        }
        finally
        {
            _turn.Release();
        }
    }

    private async Task TurnAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var boxes = _inputs.Boxes;
        var held = _inputs.HeldJobs;
        var serving = boxes.Any(b => b.Serving && !b.GoingToSleep);
        _awaySince = serving ? null : _awaySince ?? now;
        while (_signals.TryTakeLoss(out var loss))
        {
            _missing.RecordLoss(loss.Queue, loss.At);
        }

        // Waking comes first, on the last reading of Immich's queues: a held job must not wait for a slow API.
        foreach (var box in boxes)
        {
            await WakeAsync(box, held, _backlog, cancellationToken);
        }

        MlBacklog? backlog = null;
        string? immichProblem = ImmichOptions.DisabledReason;
        if (_immich.Enabled)
        {
            var queues = await _immich.GetQueuesAsync(cancellationToken);
            backlog = queues.Succeeded ? MlBacklog.From(queues.Value!) : null;
            immichProblem = queues.Error;
        }

        _backlog = backlog;

        if (_immich.Enabled && backlog is not null)
        {
            immichProblem = await PauseOrResumeAsync(serving, backlog, cancellationToken) ?? immichProblem;
            immichProblem = await PressMissingAsync(serving, backlog, cancellationToken) ?? immichProblem;
        }

        foreach (var box in boxes)
        {
            await SleepIfIdleAsync(box, held, backlog, cancellationToken);
        }

        Volatile.Write(ref _report, new PowerReport(
            now,
            _immich.Enabled,
            immichProblem,
            backlog?.Total,
            [.. boxes.Select(b => new BoxPowerReport(
                b.Name,
                _wakers.TryGetValue(b.Index, out var w) ? w.Policy.Current : null,
                _lastPackets.GetValueOrDefault(b.Index),
                _sleep.GetValueOrDefault(b.Index, "")))],
            [.. ImmichQueues.MachineLearning.Where(_pause.PausedByShim.Contains)],
            _pausedSince,
            new Dictionary<string, LostJobs>(_missing.Affected),
            [.. _events]));
    }

    private async Task WakeAsync(BoxState box, int held, MlBacklog? backlog, CancellationToken cancellationToken)
    {
        if (!_wakers.TryGetValue(box.Index, out var waker))
        {
            return;
        }

        var before = waker.Policy.Current;
        var decision = waker.Policy.Decide(new WakeInput(box.Answering, held, backlog?.Total));
        if (decision.State != before.State && decision.State != WakeState.Idle)
        {
            Event($"{box.Name}: {Describe(decision)}");
        }

        if (decision.Send)
        {
            var result = await _wakeOnLan.WakeAsync(waker.Target, cancellationToken);
            _lastPackets[box.Index] = result;
            Event(result.Sent ? $"{box.Name}: magic packet sent to {waker.Target}" : $"{box.Name}: magic packet to {waker.Target} failed: {result.Error}");
        }
    }

    private async Task<string?> PauseOrResumeAsync(bool serving, MlBacklog backlog, CancellationToken cancellationToken)
    {
        var decision = _pause.Decide(new QueueInput(serving, _awaySince, backlog));
        if (decision.Action == QueueAction.None)
        {
            return null;
        }

        var pause = decision.Action == QueueAction.Pause;
        var done = new List<string>();
        string? problem = null;
        foreach (var queue in decision.Queues)
        {
            var result = await _immich.SetPausedAsync(queue, pause, cancellationToken);
            if (result.Succeeded)
            {
                done.Add(queue);
            }
            else
            {
                problem = result.Error;
            }
        }

        _pause.Confirm(decision.Action, done);
        if (done.Count > 0)
        {
            Event($"{(pause ? "paused" : "resumed")} Immich's {string.Join(", ", done)} queue(s): {decision.Reason}");
            _pausedSince = _pause.PausedByShim.Count == 0 ? null : _pausedSince ?? _time.GetUtcNow();
        }

        return problem;
    }

    private async Task<string?> PressMissingAsync(bool serving, MlBacklog backlog, CancellationToken cancellationToken)
    {
        string? problem = null;
        foreach (var queue in _missing.Decide(new MissingInput(serving, _pause.PausedByShim, backlog)))
        {
            var lost = _missing.Affected[queue];
            var pressedAt = _time.GetUtcNow();
            var result = await _immich.StartMissingAsync(queue, cancellationToken);
            if (result.Succeeded)
            {
                _missing.Confirm(queue, pressedAt);
                Event($"pressed \"Missing\" for {queue}: {lost.Count} job(s) lost since {lost.Since:u} get their result");
            }
            else
            {
                problem = result.Error;
            }
        }

        return problem;
    }

    private async Task SleepIfIdleAsync(BoxState box, int held, MlBacklog? backlog, CancellationToken cancellationToken)
    {
        if (!_idle.TryGetValue(box.Index, out var idle))
        {
            _idle[box.Index] = idle = new IdlePolicy(Options.Create(_options), _time);
        }

        // The agent answers after its own delay (or not at all, if the box just vanished): the call runs beside the
        // loop, and its answer is taken at the first turn after it came.
        if (_sleepCalls.TryGetValue(box.Index, out var call))
        {
            if (!call.Answer.IsCompleted)
            {
                if (held + box.InFlight > 0 || !box.Answering || !box.AgentAnswering)
                {
                    // Work came, or the box vanished with the request on the wire: withdraw it. The agent drops a
                    // request whose caller has gone before its delay runs out, even one delivered late.
                    await call.Withdraw.CancelAsync();
                }

                _sleep[box.Index] = $"asking the agent to sleep: {call.Reason}";
                return;
            }

            _sleepCalls.Remove(box.Index);
            call.Withdraw.Dispose();
            var answer = call.Answer.IsCompletedSuccessfully ? call.Answer.Result : new SleepAnswer(false, "withdrawn: work arrived or the box went away while asking");
            idle.Answered(answer.Accepted, answer.Message);
            Event($"{box.Name}: {(answer.Accepted ? $"asked to sleep: {call.Reason}" : $"the agent refused to sleep: {answer.Message}")}");
        }

        // An agent that does not answer cannot put its box to sleep; its idle time starts afresh when it is back.
        var decision = idle.Decide(new IdleInput(box.Serving && !box.GoingToSleep && box.AgentAnswering, box.InFlight + held, _inputs.LastWorkAt, backlog));
        if (!box.AgentAnswering && box.Answering)
        {
            _sleep[box.Index] = "its agent does not answer (its ML service does): no one to ask to sleep";
            return;
        }

        if (box.GoingToSleep)
        {
            _sleep[box.Index] = "going to sleep on purpose";
            return;
        }

        _sleep[box.Index] = decision.Reason;
        if (decision.AskToSleep)
        {
            var withdraw = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var asking = _agents.SleepAsync(box, decision.Reason, withdraw.Token);
            _sleepCalls[box.Index] = new SleepCall(asking, decision.Reason, withdraw);
            _ = asking.ContinueWith(_ => _signals.Nudge(), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            _sleep[box.Index] = $"asking the agent to sleep: {decision.Reason}";
        }
    }

    private sealed record SleepCall(Task<SleepAnswer> Answer, string Reason, CancellationTokenSource Withdraw);

    private void Event(string text)
    {
        LogEvent(_logger, text);
        _events.Insert(0, new PowerEvent(_time.GetUtcNow(), text));
        if (_events.Count > MaxEvents)
        {
            _events.RemoveAt(_events.Count - 1);
        }
    }

    /// <summary>The sentence the status page shows for a wake decision, e.g. "waking since 2026-03-14 12:00:00Z: 3 held job(s) waiting".</summary>
    public static string Describe(WakeDecision decision) => decision.State switch
    {
        WakeState.Waking => $"waking since {decision.Since:u}: {decision.Reason}",
        WakeState.Quiet => $"not waking: {decision.Reason}",
        WakeState.GaveUp => decision.Reason,
        _ => decision.Reason,
    };

    [LoggerMessage(EventId = 720, Level = LogLevel.Information, Message = "Power: {Text}")]
    private static partial void LogEvent(ILogger logger, string text);

    [LoggerMessage(EventId = 722, Level = LogLevel.Error, Message = "Power: a turn of the loop failed; trying again at the next poll")]
    private static partial void LogTurnFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 721, Level = LogLevel.Warning, Message = "Power: {Reason}")]
    private static partial void LogImmichOff(ILogger logger, string reason);
}
