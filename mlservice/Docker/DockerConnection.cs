using Docker.DotNet;

namespace GpuSplit.MlService.Docker;

/// <summary>
/// How every GpuSplit program reaches a Docker engine. Without a pinned API version it negotiates: the engine's own
/// version, capped at the newest this client library knows, so both Debian's Engine 20.10 (API 1.41) and engines that
/// no longer accept old versions (Docker 29: 1.44+) work.
/// </summary>
public static class DockerConnection
{
    /// <summary>The API version Docker.DotNet.Enhanced 4.3.3 is generated against.</summary>
    public static readonly Version ClientMaxApiVersion = new(1, 54);

    /// <summary>The platform's engine: the Unix socket on Linux, the named pipe on Windows.</summary>
    public static Uri DefaultEndpoint => OperatingSystem.IsWindows()
        ? new Uri("npipe://./pipe/docker_engine")
        : new Uri("unix:///var/run/docker.sock");

    /// <summary>A client for <paramref name="endpoint"/> at <paramref name="pinned"/>, or at the negotiated version.</summary>
    public static async Task<(DockerClient Client, Version Version)> ConnectAsync(Uri endpoint, Version? pinned, CancellationToken cancellationToken)
    {
        var version = pinned ?? await NegotiateAsync(endpoint, cancellationToken);
        return (Build(endpoint, version), version);
    }

    private static async Task<Version> NegotiateAsync(Uri endpoint, CancellationToken cancellationToken)
    {
        // An unversioned request is answered at the engine's own version: the one call that is safe before negotiating.
        using var probe = Build(endpoint, null);
        var answer = await probe.System.GetVersionAsync(cancellationToken);
        var engine = Version.Parse(answer.APIVersion);
        return engine < ClientMaxApiVersion ? engine : ClientMaxApiVersion;
    }

    private static DockerClient Build(Uri endpoint, Version? version) => new DockerClientBuilder()
        .WithEndpoint(endpoint)
        .WithApiVersion(version)
        .WithTimeout(TimeSpan.FromSeconds(30))
        .Build();
}
