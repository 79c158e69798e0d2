using System.Globalization;
using System.Net;
using Docker.DotNet;
using Docker.DotNet.Models;
using GpuSplit.MlService.Docker;
using GpuSplit.Planner.Measure;

namespace GpuSplit.Planner.Service;

/// <summary>
/// Immich's ML container through the Docker Engine API (the agent's client, <see cref="DockerConnection"/>): restarted
/// so that each measurement starts from a worker with empty arenas, its host pids for NVML, its logs for a CUDA
/// out-of-memory.
/// </summary>
public sealed class WorkerContainer : IDisposable
{
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(10);
    private readonly DockerClient _client;

    private WorkerContainer(DockerClient client, string name, string id, string image)
    {
        _client = client;
        Name = name;
        Id = id;
        Image = image;
    }

    public string Name { get; }

    public string Id { get; }

    /// <summary>The image as the container was created from it, name and tag: what the figures were measured with.</summary>
    public string Image { get; }

    /// <summary>Finds <paramref name="name"/> and checks that it runs and is the container serving <paramref name="service"/>.</summary>
    /// <exception cref="MeasureException">No engine, no such container, not running, or not the service at the URL.</exception>
    public static async Task<WorkerContainer> OpenAsync(Uri endpoint, string name, Uri service, CancellationToken cancellationToken)
    {
        DockerClient client;
        try
        {
            (client, _) = await DockerConnection.ConnectAsync(endpoint, null, cancellationToken);
        }
        catch (Exception e) when (DockerErrors.IsUnavailable(e) && !cancellationToken.IsCancellationRequested)
        {
            throw new MeasureException($"the Docker engine at {endpoint} does not answer ({DockerErrors.Describe(e)}); --docker names another");
        }

        try
        {
            var inspect = await client.Containers.InspectContainerAsync(name, cancellationToken);
            if (inspect.State?.Running != true)
            {
                throw new MeasureException($"container '{name}' is not running ({inspect.State?.Status}); start it, then measure");
            }

            if (ServesUrl(inspect, service) is { } why)
            {
                throw new MeasureException($"container '{name}' is not the ML service at {service}: {why}; --container names Immich's ML container");
            }

            return new WorkerContainer(client, inspect.Name.TrimStart('/'), inspect.ID, inspect.Config?.Image ?? inspect.Image);
        }
        catch (DockerContainerNotFoundException)
        {
            client.Dispose();
            throw new MeasureException($"no container named '{name}'; --container names Immich's ML container (immich_machine_learning in Immich's compose file)");
        }
        catch (Exception e) when (DockerErrors.IsUnavailable(e) && !cancellationToken.IsCancellationRequested)
        {
            client.Dispose();
            throw new MeasureException($"the Docker engine at {endpoint} does not answer ({DockerErrors.Describe(e)})");
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>Restarts the container (Docker gives it 10 s to stop): a new worker, with no model and no arena.</summary>
    /// <exception cref="MeasureException">The container went away, or the engine does not answer.</exception>
    public async Task RestartAsync(CancellationToken cancellationToken)
    {
        try
        {
            await _client.Containers.RestartContainerAsync(Id, new ContainerRestartParameters { WaitBeforeKillSeconds = (uint)StopGrace.TotalSeconds },
                cancellationToken);
        }
        catch (DockerContainerNotFoundException)
        {
            throw new MeasureException($"container '{Name}' no longer exists");
        }
        catch (Exception e) when ((e is DockerApiException || DockerErrors.IsUnavailable(e)) && !cancellationToken.IsCancellationRequested)
        {
            throw new MeasureException($"restarting container '{Name}' failed: {DockerErrors.Describe(e)}");
        }
    }

    /// <exception cref="MeasureException">The engine does not answer.</exception>
    public async Task<IReadOnlySet<uint>> HostPidsAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await ContainerProcesses.HostPidsAsync(_client, Id, cancellationToken);
        }
        catch (Exception e) when (DockerErrors.IsUnavailable(e) && !cancellationToken.IsCancellationRequested)
        {
            throw new MeasureException($"the Docker engine does not answer ({DockerErrors.Describe(e)})");
        }
    }

    /// <summary>The container's log lines from <paramref name="since"/> on, until it stops or the token fires.</summary>
    public IAsyncEnumerable<ContainerLogLine> FollowLogsAsync(DateTimeOffset since, CancellationToken cancellationToken) =>
        ContainerLogLines.FollowAsync(_client, Id, LogTimestamp.FromTime(since), cancellationToken);

    public void Dispose() => _client.Dispose();

    /// <summary>
    /// Null when the container serves <paramref name="url"/>: it publishes the URL's port, or it listens on its
    /// IMMICH_PORT (3003 unless set) on the host's network, or at the URL's host (its name, an alias, its address on
    /// one of its networks). Otherwise why not, before anything is restarted.
    /// </summary>
    internal static string? ServesUrl(ContainerInspectResponse inspect, Uri url)
    {
        var port = url.Port;
        var published = (inspect.NetworkSettings?.Ports ?? new Dictionary<string, IList<PortBinding>>())
            .SelectMany(p => p.Value ?? []).Select(b => b.HostPort).Where(p => !string.IsNullOrEmpty(p)).Distinct().ToList();
        if (published.Contains(port.ToString(CultureInfo.InvariantCulture)))
        {
            return null;
        }

        var env = (inspect.Config?.Env ?? []).Select(e => e.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);
        var listens = env.TryGetValue("IMMICH_PORT", out var text) && int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var own) ? own : 3003;
        var hostNetwork = inspect.HostConfig?.NetworkMode == "host";
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { inspect.Name.TrimStart('/'), inspect.Config?.Hostname ?? "" };
        foreach (var network in inspect.NetworkSettings?.Networks?.Values ?? [])
        {
            names.UnionWith(network.Aliases ?? []);
            names.Add(network.IPAddress ?? "");
        }

        names.Remove("");
        var atItsAddress = names.Contains(url.Host) || (IPAddress.TryParse(url.Host, out var address) && names.Contains(address.ToString()));
        if (listens == port && (hostNetwork || atItsAddress))
        {
            return null;
        }

        var publishes = published.Count == 0 ? "publishes no port" : $"publishes port{(published.Count == 1 ? "" : "s")} {string.Join(", ", published)}";
        return $"it {publishes} and listens on {listens.ToString(CultureInfo.InvariantCulture)}{(hostNetwork ? " on the host's network" : "")}";
    }
}
