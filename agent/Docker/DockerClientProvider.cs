using Docker.DotNet;
using GpuSplit.Agent.Hosting;
using GpuSplit.MlService.Docker;
using Microsoft.Extensions.Options;

namespace GpuSplit.Agent.Docker;

/// <summary>
/// One Docker client for the agent's life, created at first use: pinned by Agent:Docker:ApiVersion, or negotiated
/// with the engine (<see cref="DockerConnection"/>).
/// </summary>
public sealed partial class DockerClientProvider(IOptions<AgentOptions> options, ILogger<DockerClientProvider> logger) : IDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private DockerClient? _client;

    public Uri Endpoint => options.Value.Docker.EffectiveEndpoint;

    public async Task<DockerClient> GetAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _client) is { } ready)
        {
            return ready;
        }

        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_client is null)
            {
                var pinned = options.Value.Docker.ApiVersion;
                var (client, version) = await DockerConnection.ConnectAsync(Endpoint, pinned, cancellationToken);
                Volatile.Write(ref _client, client);
                LogConnected(logger, Endpoint, version, pinned is null ? "negotiated" : "pinned by Agent:Docker:ApiVersion");
            }

            return _client;
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose()
    {
        _client?.Dispose();
        _gate.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Docker engine at {Endpoint}: API version {Version} ({How})")]
    private static partial void LogConnected(ILogger logger, Uri endpoint, Version version, string how);
}
