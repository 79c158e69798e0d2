using System.Threading.Channels;
using Docker.DotNet;
using Docker.DotNet.Models;
using GpuSplit.Agent.Hosting;
using GpuSplit.Agent.Status;
using GpuSplit.Agent.Watchdog;
using GpuSplit.MlService.Docker;
using Microsoft.Extensions.Options;

namespace GpuSplit.Agent.Docker;

/// <summary>
/// Keeps the worker's Docker facts current: inspects it, follows the engine's event stream for it (start, die, kill,
/// oom, health_status, create, destroy) and its logs, and posts what may be failures to the watchdog. When the engine
/// goes away it reports DOCKER_UNAVAILABLE and reconnects every poll interval.
/// </summary>
public sealed partial class WorkerWatcher(
    DockerClientProvider docker,
    IWorkerRuntime worker,
    WorkerLogFollower logs,
    WorkerSignals signals,
    AgentState state,
    TimeProvider time,
    IOptions<AgentOptions> options,
    ILogger<WorkerWatcher> logger) : BackgroundService
{
    // A `kill` event this recent before `die` means someone asked Docker to stop the container.
    private static readonly TimeSpan KillToDie = TimeSpan.FromSeconds(60);

    private string Name => options.Value.Worker.Container;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await WatchAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception error) when (DockerErrors.IsUnavailable(error))
            {
                var reason = DockerErrors.Describe(error);
                if (state.Current.Facts.DockerError is null)
                {
                    LogDockerLost(logger, docker.Endpoint, reason);
                }

                state.Update(f => f with { DockerError = reason, PingOk = false });
            }
            catch (Exception error) when (!stoppingToken.IsCancellationRequested)
            {
                // A watchdog that stops watching is worse than one that retries: start the session over.
                LogWatchFailed(logger, Name, error);
            }

            await Task.Delay(options.Value.PollInterval, time, stoppingToken);
        }
    }

    private async Task WatchAsync(CancellationToken stoppingToken)
    {
        var client = await docker.GetAsync(stoppingToken);
        using var session = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var events = Channel.CreateUnbounded<Message>(new UnboundedChannelOptions { SingleReader = true });
        var parameters = new ContainerEventsParameters
        {
            Filters = new Dictionary<string, IDictionary<string, bool>>
            {
                ["type"] = new Dictionary<string, bool> { ["container"] = true },
                ["container"] = new Dictionary<string, bool> { [Name] = true },
            },
        };
        // Subscribed before the first inspect, so nothing that happens in between is missed.
        var stream = client.System.MonitorEventsAsync(parameters, new ChannelProgress(events.Writer), session.Token)
            .ContinueWith(t => events.Writer.TryComplete(t.Exception?.InnerException ?? new IOException("the Docker event stream ended")),
                CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

        Task? following = null;
        try
        {
            var container = await RefreshAsync(stoppingToken);
            LogWatching(logger, Name, docker.Endpoint, container is null ? "missing" : container.Status);
            if (container is { Running: false })
            {
                signals.Post(new ContainerStopped(container, time.GetUtcNow(), KilledOnRequest: false));
            }

            following = StartFollowing(client, container, session.Token);
            DateTimeOffset? killedAt = null;
            await foreach (var message in events.Reader.ReadAllAsync(stoppingToken))
            {
                if (!IsAboutWorker(message, container))
                {
                    continue;
                }

                var at = message.TimeNano is { } ns ? LogTimestamp.ToTime(ns) : time.GetUtcNow();
                LogEvent(logger, Name, message.Action);
                switch (message.Action)
                {
                    case "kill":
                        killedAt = at;
                        break;
                    case "start":
                        container = await RefreshAsync(stoppingToken);
                        following = StartFollowing(client, container, session.Token);
                        break;
                    case "die":
                        container = await RefreshAsync(stoppingToken);
                        if (container is not null)
                        {
                            var onRequest = killedAt is { } k && at - k < KillToDie;
                            signals.Post(new ContainerStopped(container with { Running = false }, at, onRequest));
                        }

                        killedAt = null;
                        break;
                    case "oom":
                        // The `die` that follows carries OOMKilled; alone, a child process was killed and the worker lives.
                        break;
                    default:
                        // create, destroy, rename, health_status, stop, restart, pause...: the state is what counts.
                        container = await RefreshAsync(stoppingToken);
                        break;
                }
            }
        }
        finally
        {
            await session.CancelAsync();
            await stream;
            if (following is not null)
            {
                await following;
            }
        }
    }

    /// <summary>
    /// Docker's <c>container</c> event filter matches names by prefix, so <c>immich_machine_learning_old</c> arrives
    /// too: only the configured name (or the id of the container it names, through a rename) counts.
    /// </summary>
    private bool IsAboutWorker(Message message, WorkerInspection? container) =>
        message.Actor is { } actor
        && ((actor.Attributes is { } attributes && attributes.TryGetValue("name", out var name) && string.Equals(name, Name, StringComparison.Ordinal))
            || (container is not null && string.Equals(actor.ID, container.Id, StringComparison.Ordinal)));

    private async Task<WorkerInspection?> RefreshAsync(CancellationToken cancellationToken)
    {
        var container = await worker.InspectAsync(cancellationToken);
        state.Update(f =>
        {
            var recreated = f.Container is { } before && container is { } now && before.Id != now.Id;
            return f with
            {
                DockerError = null,
                Container = container,
                PingOk = container is { Running: true } && f.PingOk,
                // A new container (another image, perhaps) deserves a new verdict.
                GpuUnsupported = recreated || container is null ? null : f.GpuUnsupported,
                StoppedByOperator = container is { Running: false } && f.StoppedByOperator,
            };
        });
        return container;
    }

    private Task? StartFollowing(DockerClient client, WorkerInspection? container, CancellationToken cancellationToken) =>
        container is { Running: true }
            ? Task.Run(async () =>
            {
                try
                {
                    await logs.FollowAsync(client, container, cancellationToken);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                }
                catch (Exception error) when (DockerErrors.IsUnavailable(error) || error is DockerApiException)
                {
                    LogLogsLost(logger, Name, DockerErrors.Describe(error));
                }
            }, CancellationToken.None)
            : null;

    [LoggerMessage(Level = LogLevel.Information, Message = "watching container {Container} through {Endpoint}: {Status}")]
    private static partial void LogWatching(ILogger logger, string container, Uri endpoint, string status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "the Docker engine at {Endpoint} does not answer ({Reason}); retrying every poll interval")]
    private static partial void LogDockerLost(ILogger logger, Uri endpoint, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "watching {Container} failed; starting over")]
    private static partial void LogWatchFailed(ILogger logger, string container, Exception error);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Docker event for {Container}: {Action}")]
    private static partial void LogEvent(ILogger logger, string container, string action);

    [LoggerMessage(Level = LogLevel.Debug, Message = "log stream of {Container} ended: {Reason}")]
    private static partial void LogLogsLost(ILogger logger, string container, string reason);

    /// <summary>Keeps the event order: <see cref="Progress{T}"/> would hand events to the thread pool in any order.</summary>
    private sealed class ChannelProgress(ChannelWriter<Message> writer) : IProgress<Message>
    {
        public void Report(Message value) => writer.TryWrite(value);
    }
}
