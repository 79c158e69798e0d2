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
                await Task.WhenAny(Task.Delay(wait, time, stoppingToken), state.NextChangeAsync(stoppingToken).ContinueWith(
                    _ => { }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default));
                stoppingToken.ThrowIfCancellationRequested();
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
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
