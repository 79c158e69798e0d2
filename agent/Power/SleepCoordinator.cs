using GpuSplit.Protos.V1;
using Microsoft.Extensions.Options;

namespace GpuSplit.Agent.Power;

/// <summary>
/// Carries out a Sleep request: the refusal policy first; then "going to sleep" is published (so the shim knows the
/// box leaves on purpose and does not count it as a failure), and only after <see cref="SleepOptions.Delay"/>, if the
/// caller is still there, the command runs. A failed command is reported and the box counts as awake again; after a successful one the flag is
/// cleared <see cref="SleepOptions.ClearAfter"/> later, which on a real box is after it has woken up again.
/// </summary>
public sealed partial class SleepCoordinator(ISleepRefusalPolicy policy, ISleepCommand command, IPowerStatusSink status,
    IOptions<SleepOptions> options, TimeProvider time, ILogger<SleepCoordinator> logger) : IDisposable
{
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _gate = new();
    private Task _running = Task.CompletedTask;

    /// <summary>Completes when the last accepted sleep has run its command and cleared its flag (for tests and shutdown).</summary>
    public Task Running
    {
        get
        {
            lock (_gate)
            {
                return _running;
            }
        }
    }

    /// <param name="caller">The Sleep call's own token: cancelled when the caller gives up or its connection dies.</param>
    public async Task<SleepReply> RequestAsync(string reason, SleepCheck check, CancellationToken caller)
    {
        var why = string.IsNullOrWhiteSpace(reason) ? "no reason given" : reason.Trim();
        PowerView announced;
        lock (_gate)
        {
            if (status.Current.GoingToSleep)
            {
                return new SleepReply { Accepted = true, Message = $"already going to sleep: {status.Current.Reason}" };
            }

            if (policy.Refuse(check) is { } refusal)
            {
                LogRefused(logger, why, refusal.Message);
                return new SleepReply { Accepted = false, Refusal = refusal.Refusal, Message = refusal.Message };
            }

            announced = new PowerView(true, why, time.GetUtcNow(), null);
            status.Publish(announced);
            LogAccepted(logger, why, options.Value.Delay.TotalSeconds);
        }

        try
        {
            // The caller must still be there when the delay runs out. A request held up by a dead link reaches the
            // agent when the link returns, long after its sender gave up (and the box may have work again); its
            // cancellation arrives right behind it, so such a request ends here instead of suspending the box.
            await Task.Delay(options.Value.Delay, time, caller);
        }
        catch (OperationCanceledException)
        {
            lock (_gate)
            {
                if (status.Current == announced)
                {
                    status.Publish(PowerView.Awake);
                }
            }

            LogAbandoned(logger, why);
            throw;
        }

        lock (_gate)
        {
            _running = RunAsync(why, _stopping.Token);
        }

        var commandLine = string.Join(' ', [options.Value.Command, .. options.Value.Arguments]);
        return new SleepReply { Accepted = true, Message = $"going to sleep now: {commandLine}" };
    }

    public void Dispose()
    {
        _stopping.Cancel();
        _stopping.Dispose();
    }

    private async Task RunAsync(string reason, CancellationToken cancellationToken)
    {
        try
        {
            var result = await command.RunAsync(cancellationToken);
            if (!result.Succeeded)
            {
                status.Publish(new PowerView(false, reason, time.GetUtcNow(), result.Error));
                return;
            }

            await Task.Delay(options.Value.ClearAfter, time, cancellationToken);
            status.Publish(PowerView.Awake);
            LogAwake(logger);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    [LoggerMessage(EventId = 810, Level = LogLevel.Information, Message = "Sleep refused ({Reason}): {Refusal}")]
    private static partial void LogRefused(ILogger logger, string reason, string refusal);

    [LoggerMessage(EventId = 811, Level = LogLevel.Warning, Message = "Sleep accepted ({Reason}): reported going to sleep, running the command in {DelaySeconds} s")]
    private static partial void LogAccepted(ILogger logger, string reason, double delaySeconds);

    [LoggerMessage(EventId = 813, Level = LogLevel.Warning, Message = "Sleep abandoned ({Reason}): the caller went away before the delay ran out, so the box stays awake")]
    private static partial void LogAbandoned(ILogger logger, string reason);

    [LoggerMessage(EventId = 812, Level = LogLevel.Information, Message = "Awake again after the sleep command")]
    private static partial void LogAwake(ILogger logger);
}
