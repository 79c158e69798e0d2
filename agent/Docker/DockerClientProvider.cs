using Docker.DotNet;
using GpuSplit.Agent.Hosting;
using Microsoft.Extensions.Options;

namespace GpuSplit.Agent.Docker;

/// <summary>
/// One Docker client for the agent's life, created at first use. Without a pinned Agent:Docker:ApiVersion it
/// negotiates: the engine's own API version, capped at the newest this client library knows, so the agent works
/// with Debian's Engine 20.10 (API 1.41) and with engines that no longer accept old versions (Docker 29: 1.44+).
/// </summary>
public sealed partial class DockerClientProvider(IOptions<AgentOptions> options, ILogger<DockerClientProvider> logger) : IDisposable
{
    /// <summary>The API version Docker.DotNet.Enhanced 4.3.3 is generated against.</summary>
    public static readonly Version ClientMaxApiVersion = new(1, 54);

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
                var version = pinned ?? await NegotiateAsync(cancellationToken);
                Volatile.Write(ref _client, Build(version));
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

    private async Task<Version> NegotiateAsync(CancellationToken cancellationToken)
    {
        // An unversioned request is answered at the engine's own version: the one call that is safe before negotiating.
        using var probe = Build(null);
        var answer = await probe.System.GetVersionAsync(cancellationToken);
        var engine = Version.Parse(answer.APIVersion);
        return engine < ClientMaxApiVersion ? engine : ClientMaxApiVersion;
    }

    private DockerClient Build(Version? version) => new DockerClientBuilder()
        .WithEndpoint(Endpoint)
        .WithApiVersion(version)
        .WithTimeout(TimeSpan.FromSeconds(30))
        .Build();

    [LoggerMessage(Level = LogLevel.Information, Message = "Docker engine at {Endpoint}: API version {Version} ({How})")]
    private static partial void LogConnected(ILogger logger, Uri endpoint, Version version, string how);
}
