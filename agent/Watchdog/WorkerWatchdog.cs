using Docker.DotNet;
using GpuSplit.Agent.Docker;
using GpuSplit.Agent.Evidence;
using GpuSplit.Agent.Hosting;
using GpuSplit.Agent.Status;
using GpuSplit.MlService.Docker;
using Microsoft.Extensions.Options;

namespace GpuSplit.Agent.Watchdog;

/// <summary>
/// Takes the signals one at a time, lets the policies classify them, and acts: restart (through the crash-loop
/// guard), report, or refuse to restart. It only ever acts on the configured container (<see cref="IWorkerRuntime"/>).
/// </summary>
public sealed partial class WorkerWatchdog(
    WorkerSignals signals,
    IEnumerable<IFailurePolicy> policies,
    CrashLoopGuard guard,
    IWorkerRuntime worker,
    AgentState state,
    EvidenceRecorder evidence,
    TimeProvider time,
    IOptions<AgentOptions> options,
    ILogger<WorkerWatchdog> logger) : BackgroundService
{
    private readonly IFailurePolicy[] _policies = [.. policies];
    private ITimer? _backoffTimer;
    private FailureVerdict? _deferred;

    private string Name => options.Value.Worker.Container;

    public override void Dispose()
    {
        _backoffTimer?.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var signal in signals.ReadAllAsync(stoppingToken))
            {
                try
                {
                    await HandleAsync(signal, stoppingToken);
                }
                catch (Exception error) when (!stoppingToken.IsCancellationRequested)
                {
                    // Docker unreachable, the container gone between two calls, or a fault of ours: the next signal
                    // deserves a judgement all the same.
                    var reason = DockerErrors.Describe(error);
                    LogActionFailed(logger, Name, reason, error is DockerApiException || DockerErrors.IsUnavailable(error) ? null : error);
                    state.Update(f => f with { Restarting = false });
                    (signal as OperatorRestart)?.Outcome.TrySetResult(new RestartOutcome(false, $"restart of {Name} failed: {reason}"));
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    private async Task HandleAsync(WorkerSignal signal, CancellationToken cancellationToken)
    {
        if (signal is BackoffElapsed)
        {
            await RetryAfterBackoffAsync(cancellationToken);
            return;
        }

        if (signal is LogLine line && state.Current.Facts.Container is { StartedAt: { } runStarted } && line.At < runStarted)
        {
            // A line of a run that has already ended: ONNX Runtime reports one failure in several lines, and the
            // restart the first of them asked for is done.
            return;
        }

        if (signal is ContainerStopped stopped)
        {
            var now = await worker.InspectAsync(cancellationToken);
            if (now is { Running: true, StartedAt: { } started } && started > stopped.At)
            {
                // Already running again (our own restart's `die`, or Docker's restart policy): nothing to do.
                return;
            }

            if (stopped.KilledOnRequest)
            {
                LogLeftStopped(logger, Name);
                state.Update(f => f with { StoppedByOperator = true });
                return;
            }
        }

        var verdict = _policies.Select(p => p.Classify(signal)).FirstOrDefault(v => v is not null);
        if (verdict is null)
        {
            return;
        }

        var facts = state.Current.Facts;
        if (facts.GpuUnsupported is not null && verdict.Kind != FailureKind.Operator)
        {
            LogStillUnsupported(logger, Name, verdict.Reason);
            return;
        }

        switch (verdict.Action)
        {
            case FailureAction.Report:
                LogReported(logger, Name, verdict.Reason);
                state.Update(f => f with { LastFailure = new FailureRecord(verdict.Kind, verdict.Reason, time.GetUtcNow(), false) });
                break;
            case FailureAction.NeverRestart:
                LogUnsupported(logger, Name, verdict.Reason);
                var record = new FailureRecord(verdict.Kind, verdict.Reason, time.GetUtcNow(), false);
                state.Update(f => f with { LastFailure = record, GpuUnsupported = record, BackoffUntil = null });
                break;
            case FailureAction.Restart:
                await RestartAsync(verdict, signal as OperatorRestart, cancellationToken);
                break;
        }
    }

    private async Task RestartAsync(FailureVerdict verdict, OperatorRestart? request, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        if (request is not null)
        {
            guard.Reset();
            _backoffTimer?.Dispose();
        }

        if (guard.Request(now) is { } until)
        {
            _deferred = verdict;
            var window = options.Value.Watchdog.CrashLoopWindow;
            var reason = $"{guard.RestartsInWindow} restarts within {window.TotalMinutes:0.#} min, backing off {(until - now).TotalSeconds:0.#} s; last: {verdict.Reason}";
            LogCrashLooping(logger, Name, reason);
            state.Update(f => f with { LastFailure = new FailureRecord(FailureKind.CrashLooping, reason, now, false), BackoffUntil = until });
            _backoffTimer?.Dispose();
            _backoffTimer = time.CreateTimer(_ => signals.Post(new BackoffElapsed(time.GetUtcNow())), null, until - now, Timeout.InfiniteTimeSpan);
            return;
        }

        if (verdict.Kind == FailureKind.CudaOom)
        {
            // Before the restart: the models the worker holds now are the ones that ran out of memory.
            evidence.OnCudaOomRestart();
        }

        var failure = new FailureRecord(verdict.Kind, verdict.Reason, now, Restarted: true);
        state.Update(f => f with
        {
            Restarting = true,
            LastFailure = failure,
            BackoffUntil = null,
            StoppedByOperator = false,
            GpuUnsupported = request is null ? f.GpuUnsupported : null,
        });
        LogRestarting(logger, Name, verdict.Reason);
        var started = time.GetTimestamp();
        WorkerInspection? container = null;
        try
        {
            await worker.RestartAsync(cancellationToken);
            container = await worker.InspectAsync(cancellationToken);
        }
        finally
        {
            var restarted = container is not null;
            state.Update(f => f with
            {
                Restarting = false,
                RestartCount = f.RestartCount + (restarted ? 1 : 0),
                Container = container ?? f.Container,
                PingOk = false,
            });
        }

        LogRestarted(logger, Name, (long)time.GetElapsedTime(started).TotalMilliseconds);
        request?.Outcome.TrySetResult(new RestartOutcome(true, $"restarted {Name}"));
    }

    private async Task RetryAfterBackoffAsync(CancellationToken cancellationToken)
    {
        if (state.Current.Facts.BackoffUntil is null || _deferred is not { } verdict)
        {
            return;
        }

        if (await worker.InspectAsync(cancellationToken) is { Running: true })
        {
            // Someone started it meanwhile; the next failure will be judged on its own.
            state.Update(f => f with { BackoffUntil = null });
            return;
        }

        _deferred = null;
        await RestartAsync(verdict with { Reason = verdict.Reason + " (after crash-loop back-off)" }, null, cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "restarting {Container}: {Reason}")]
    private static partial void LogRestarting(ILogger logger, string container, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Container} restarted in {Milliseconds} ms")]
    private static partial void LogRestarted(ILogger logger, string container, long milliseconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "not restarting {Container}, the image cannot run on this GPU and a restart cannot help (gpu-unsupported): {Reason}")]
    private static partial void LogUnsupported(ILogger logger, string container, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Container} is gpu-unsupported; ignoring: {Reason}")]
    private static partial void LogStillUnsupported(ILogger logger, string container, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Container}: {Reason} (reported, not restarted)")]
    private static partial void LogReported(ILogger logger, string container, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "not restarting {Container} now, it is crash-looping: {Reason}")]
    private static partial void LogCrashLooping(ILogger logger, string container, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Container} was stopped through Docker (docker stop or kill); leaving it stopped")]
    private static partial void LogLeftStopped(ILogger logger, string container);

    [LoggerMessage(Level = LogLevel.Error, Message = "acting on {Container} failed: {Reason}")]
    private static partial void LogActionFailed(ILogger logger, string container, string reason, Exception? error);
}
