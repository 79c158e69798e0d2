using GpuSplit.Agent.Hosting;
using GpuSplit.Agent.Status;
using Microsoft.Extensions.Options;

namespace GpuSplit.Agent.Health;

/// <summary>
/// Asks the worker's <c>/ping</c> (the check Immich's own container uses) every poll interval, and every 200 ms while
/// the container runs but has not answered yet, so SERVING is reported soon after a restart.
/// </summary>
public sealed partial class PingProbe(HttpClient http, AgentState state, TimeProvider time, IOptions<AgentOptions> options,
    ILogger<PingProbe> logger) : BackgroundService
{
    private static readonly TimeSpan StartingInterval = TimeSpan.FromMilliseconds(200);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var worker = options.Value.Worker;
        var ping = new Uri(worker.Url, "ping");
        var next = state.NextChangeAsync(stoppingToken);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var facts = state.Current.Facts;
                var ok = facts.Container is { Running: true } && !facts.Restarting && await PingAsync(ping, worker.PingTimeout, stoppingToken);
                var before = state.Current.Facts.PingOk;
                state.Update(f => f with { PingOk = ok && f.Container is { Running: true } && !f.Restarting });
                if (ok != before)
                {
                    LogPingChanged(logger, ping, ok ? "answers" : "does not answer");
                }

                var wait = facts.Container is { Running: true } && !ok ? StartingInterval : options.Value.PollInterval;
                next = await WaitAsync(wait, facts, next, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }

    /// <summary>
    /// Until the next ping is due, or the container starts, stops or restarts sooner. Other changes (each GPU reading on a
    /// real card changes the picture) do not bring the next ping forward. Returns the wait for the next change.
    /// </summary>
    private async Task<Task> WaitAsync(TimeSpan wait, AgentFacts pinged, Task next, CancellationToken stoppingToken)
    {
        var started = time.GetTimestamp();
        TimeSpan left;
        while ((left = wait - time.GetElapsedTime(started)) > TimeSpan.Zero)
        {
            await Task.WhenAny(Task.Delay(left, time, stoppingToken), next);
            stoppingToken.ThrowIfCancellationRequested();
            if (next.IsCompleted)
            {
                next = state.NextChangeAsync(stoppingToken);
                var now = state.Current.Facts;
                if (now.Container != pinged.Container || now.Restarting != pinged.Restarting)
                {
                    break;
                }
            }
        }

        return next;
    }

    private async Task<bool> PingAsync(Uri ping, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(timeout);
        try
        {
            using var response = await http.GetAsync(ping, deadline.Token);
            return response.IsSuccessStatusCode;
        }
        catch (Exception error) when (error is HttpRequestException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "worker {Ping} {Result}")]
    private static partial void LogPingChanged(ILogger logger, Uri ping, string result);
}
