using GpuSplit.Shim.Configuration;

namespace GpuSplit.Shim.Upstreams;

/// <summary>
/// While a box's agent does not answer, asks the box's ML service itself (<c>GET /ping</c>, as Immich does): the
/// agent alone may be away (crashed, upgrading, its port blocked, a bad token), and the ML service must not become
/// unreachable because the part added in front of it is. The first ping goes out as soon as the agent is found away,
/// then one every <see cref="AgentWatchOptions.ReconnectMaxDelay"/> (the agent watch's slowest retry) until the agent
/// answers again; each is bounded by the agent watch's connect and ping timeouts.
/// </summary>
public sealed class MlWatcher : BackgroundService
{
    private readonly Upstream _upstream;
    private readonly HttpClient _client;
    private readonly Uri _ping;
    private readonly TimeSpan _period;
    private readonly TimeProvider _time;
    private readonly ILogger<MlWatcher> _logger;
    private TaskCompletionSource _agentLost = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public MlWatcher(Upstream upstream, AgentWatchOptions options, TimeProvider time, ILogger<MlWatcher> logger)
    {
        _upstream = upstream;
        _period = options.ReconnectMaxDelay;
        _time = time;
        _logger = logger;
        _ping = new Uri(upstream.Url, "ping");
        _client = new HttpClient(new SocketsHttpHandler { ConnectTimeout = options.ConnectTimeout, UseProxy = false, AllowAutoRedirect = false })
        {
            // Connected, the answer must come as quickly as an agent's HTTP/2 ping answer.
            Timeout = options.ConnectTimeout + options.KeepAliveTimeout,
        };
        upstream.HealthChanged += (_, _, current) =>
        {
            if (current.State == HostStates.CheckingMl)
            {
                Interlocked.Exchange(ref _agentLost, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
            }
        };
    }

    public override void Dispose()
    {
        _client.Dispose();
        base.Dispose();
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            // Taken before looking, so that an agent lost in between is not missed.
            var lost = Volatile.Read(ref _agentLost).Task;
            try
            {
                if (!_upstream.AgentAway)
                {
                    await lost.WaitAsync(stoppingToken);
                    continue;
                }

                var ping = await PingAsync(stoppingToken);
                MlWatcherLog.Pinged(_logger, _upstream.Name, ping.Answering, ping.Detail);
                _upstream.Pinged(ping);
                // The agent coming back and going again asks for a fresh ping at once.
                await Task.WhenAny(Task.Delay(_period, _time, stoppingToken), lost);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    private async Task<MlPing> PingAsync(CancellationToken stoppingToken)
    {
        try
        {
            using var response = await _client.GetAsync(_ping, HttpCompletionOption.ResponseHeadersRead, stoppingToken);
            return response.IsSuccessStatusCode
                ? new MlPing(true, $"{_ping.Authority} answered /ping")
                : new MlPing(false, $"{_ping.Authority} answered /ping {(int)response.StatusCode}");
        }
        catch (HttpRequestException e)
        {
            // The socket's own words ("Connection refused") say more than HttpClient's.
            return new MlPing(false, e.InnerException?.Message ?? e.Message);
        }
        catch (TaskCanceledException) when (!stoppingToken.IsCancellationRequested)
        {
            return new MlPing(false, $"no answer to /ping within {_client.Timeout.TotalSeconds:0.##} s");
        }
    }
}

internal static partial class MlWatcherLog
{
    [LoggerMessage(EventId = 105, Level = LogLevel.Debug, Message = "{Upstream}: its agent is away; ML /ping answering {Answering}: {Detail}")]
    public static partial void Pinged(ILogger logger, string upstream, bool answering, string detail);
}
