using GpuSplit.Protos.V1;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.Net.Client;

namespace GpuSplit.Shim.Upstreams;

/// <summary>
/// Keeps the two watch streams to one box's agent open (grpc.health.v1 Watch and gpusplit.v1 WatchStatus),
/// feeding every message into the box's <see cref="Upstream"/>, and reconnects with back-off when the agent
/// does not answer. No answer is itself the news: the box is asleep or off.
/// </summary>
public sealed class AgentWatcher : BackgroundService
{
    private readonly Upstream _upstream;
    private readonly ReconnectBackoff _backoff;
    private readonly ILogger<AgentWatcher> _logger;
    private readonly GrpcChannel _channel;
    private readonly int _missedHeartbeats;
    private readonly Metadata _headers = [];

    public AgentWatcher(Upstream upstream, ReconnectBackoff backoff, Configuration.AgentWatchOptions options, ILoggerFactory loggers)
    {
        _upstream = upstream;
        _backoff = backoff;
        _logger = loggers.CreateLogger<AgentWatcher>();
        _channel = AgentChannels.Create(upstream.Agent, options, loggers);
        _missedHeartbeats = options.MissedHeartbeats;
        if (upstream.Token is { } token)
        {
            _headers.Add("authorization", $"Bearer {token}");
        }
    }

    public override void Dispose()
    {
        _channel.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await WatchBothAsync(stoppingToken);
        }
        catch (Exception e) when (!stoppingToken.IsCancellationRequested)
        {
            WatcherLog.WatcherFailed(_logger, _upstream.Name, e);
            throw;
        }
    }

    private Task WatchBothAsync(CancellationToken stoppingToken)
    {
        var health = new Health.HealthClient(_channel);
        var agent = new Agent.AgentClient(_channel);
        return Task.WhenAll(
            WatchAsync(
                "health",
                ct => health.Watch(new HealthCheckRequest(), _headers, cancellationToken: ct),
                m => _upstream.Heard(v => v with { Health = m.Status, LastError = null }),
                e => _upstream.Observe(v => v with { Health = null, LastError = e }),
                _ => null,
                stoppingToken),
            WatchAsync(
                "status",
                ct => agent.WatchStatus(new WatchStatusRequest(), _headers, cancellationToken: ct),
                m => _upstream.Heard(v => v with { Status = m, LastError = null }),
                e => _upstream.Observe(v => v with { Status = null, LastError = e }),
                SilenceLimit,
                stoppingToken));
    }

    /// <summary>How long the status stream may stay quiet before the box counts as gone; null: no promise to hold it to.</summary>
    private TimeSpan? SilenceLimit(AgentStatus status) =>
        status.HeartbeatMs > 0 && _missedHeartbeats > 0 ? TimeSpan.FromMilliseconds((double)status.HeartbeatMs * _missedHeartbeats) : null;

    private async Task WatchAsync<T>(
        string stream,
        Func<CancellationToken, AsyncServerStreamingCall<T>> open,
        Action<T> onMessage,
        Action<string> onLost,
        Func<T, TimeSpan?> silenceLimit,
        CancellationToken stoppingToken)
    {
        var reconnect = _backoff.Create(
            e =>
            {
                WatcherLog.AttemptFailed(_logger, _upstream.Name, stream, Describe(e));
                onLost(Describe(e));
            },
            stoppingToken);

        while (!stoppingToken.IsCancellationRequested)
        {
            AsyncServerStreamingCall<T> call;
            try
            {
                // The stream counts as open once its first message arrived; until then it is a connection attempt.
                call = await reconnect.ExecuteAsync(
                    async ct =>
                    {
                        var attempt = open(ct);
                        try
                        {
                            if (!await attempt.ResponseStream.MoveNext(ct))
                            {
                                throw new RpcException(new Grpc.Core.Status(StatusCode.Unavailable, "the agent ended the stream"));
                            }

                            onMessage(attempt.ResponseStream.Current);
                            return attempt;
                        }
                        catch
                        {
                            attempt.Dispose();
                            throw;
                        }
                    },
                    stoppingToken);
            }
            catch (Exception e) when (stoppingToken.IsCancellationRequested && e is OperationCanceledException or RpcException)
            {
                return;
            }
            catch (RpcException e) when (e.StatusCode == StatusCode.Unimplemented)
            {
                // An agent without this service: the other stream carries the news alone.
                WatcherLog.StreamUnsupported(_logger, _upstream.Name, stream);
                return;
            }

            WatcherLog.StreamOpen(_logger, _upstream.Name, stream);
            using (call)
            {
                var quiet = silenceLimit(call.ResponseStream.Current);
                try
                {
                    while (await NextAsync(call.ResponseStream, quiet, stoppingToken))
                    {
                        onMessage(call.ResponseStream.Current);
                        quiet = silenceLimit(call.ResponseStream.Current);
                    }

                    onLost("the agent ended the stream");
                }
                catch (Exception e) when (stoppingToken.IsCancellationRequested && e is OperationCanceledException or RpcException)
                {
                    return;
                }
                catch (Exception e) when (quiet is { } limit && e is OperationCanceledException or RpcException { StatusCode: StatusCode.Cancelled })
                {
                    // The agent promised a message by now: its box is gone (a dead link sends no reset). The other
                    // stream shares the dead connection, so its last word no longer holds either.
                    var reason = $"no status from the agent for {limit.TotalSeconds:0.##} s";
                    WatcherLog.AgentSilent(_logger, _upstream.Name, reason);
                    _upstream.Vanished(reason);
                }
                catch (RpcException e)
                {
                    onLost(Describe(e));
                }
            }
        }
    }

    /// <summary>The next message; cancelled when none came within <paramref name="quiet"/>.</summary>
    private static async Task<bool> NextAsync<T>(IAsyncStreamReader<T> reader, TimeSpan? quiet, CancellationToken stoppingToken)
    {
        if (quiet is not { } limit)
        {
            return await reader.MoveNext(stoppingToken);
        }

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        deadline.CancelAfter(limit);
        return await reader.MoveNext(deadline.Token);
    }

    private static string Describe(Exception e) => e switch
    {
        // The socket's own words ("Connection refused") say more than gRPC's ("Error connecting to subchannel.").
        RpcException rpc => rpc.Status.DebugException?.Message ?? (string.IsNullOrEmpty(rpc.Status.Detail) ? rpc.StatusCode.ToString() : rpc.Status.Detail),
        _ => e.Message,
    };
}

internal static partial class WatcherLog
{
    [LoggerMessage(EventId = 100, Level = LogLevel.Debug, Message = "{Upstream}: agent {Stream} watch attempt failed: {Error}")]
    public static partial void AttemptFailed(ILogger logger, string upstream, string stream, string error);

    [LoggerMessage(EventId = 101, Level = LogLevel.Debug, Message = "{Upstream}: agent {Stream} watch open")]
    public static partial void StreamOpen(ILogger logger, string upstream, string stream);

    [LoggerMessage(EventId = 103, Level = LogLevel.Critical, Message = "{Upstream}: the agent watcher stopped; the shim no longer hears from this box")]
    public static partial void WatcherFailed(ILogger logger, string upstream, Exception exception);

    [LoggerMessage(EventId = 104, Level = LogLevel.Information, Message = "{Upstream}: {Reason}; counting the agent as gone")]
    public static partial void AgentSilent(ILogger logger, string upstream, string reason);

    [LoggerMessage(EventId = 102, Level = LogLevel.Warning, Message = "{Upstream}: the agent does not offer the {Stream} watch; relying on the other stream")]
    public static partial void StreamUnsupported(ILogger logger, string upstream, string stream);
}
