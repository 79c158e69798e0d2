using System.Globalization;
using Docker.DotNet;
using Docker.DotNet.Models;
using GpuSplit.Agent.Hosting;
using GpuSplit.Agent.Status;
using GpuSplit.MlService.Docker;
using Microsoft.Extensions.Options;

namespace GpuSplit.Agent.Docker;

/// <summary><see cref="IWorkerRuntime"/> through the Docker Engine API.</summary>
public sealed class DockerWorkerRuntime(DockerClientProvider docker, IOptions<AgentOptions> options) : IWorkerRuntime
{
    private string Name => options.Value.Worker.Container;

    public async Task<WorkerInspection?> InspectAsync(CancellationToken cancellationToken)
    {
        var client = await docker.GetAsync(cancellationToken);
        try
        {
            var inspect = await client.Containers.InspectContainerAsync(Name, cancellationToken);
            var state = inspect.State;
            return new WorkerInspection(
                inspect.ID,
                inspect.Name.TrimStart('/'),
                inspect.Config?.Image ?? inspect.Image,
                state?.Running ?? false,
                state?.Status ?? "unknown",
                state?.OOMKilled ?? false,
                state?.ExitCode ?? 0,
                ParseTime(state?.StartedAt),
                ParseTime(state?.FinishedAt),
                inspect.Config?.Tty ?? false,
                WorkerCount(inspect.Config?.Env));
        }
        catch (DockerContainerNotFoundException)
        {
            return null;
        }
    }

    public async Task RestartAsync(CancellationToken cancellationToken)
    {
        var client = await docker.GetAsync(cancellationToken);
        await client.Containers.RestartContainerAsync(Name, new ContainerRestartParameters
        {
            WaitBeforeKillSeconds = (uint)options.Value.Watchdog.StopTimeout.TotalSeconds,
        }, cancellationToken);
    }

    public async Task<IReadOnlySet<uint>> ProcessIdsAsync(CancellationToken cancellationToken) =>
        await ContainerProcesses.HostPidsAsync(await docker.GetAsync(cancellationToken), Name, cancellationToken);

    // Docker answers "0001-01-01T00:00:00Z" for never.
    private static DateTimeOffset? ParseTime(string? text) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var time) && time.Year > 1
            ? time
            : null;

    /// <summary>immich_ml's config.py reads MACHINE_LEARNING_WORKERS, 1 when unset; gunicorn starts that many processes.</summary>
    private static int WorkerCount(IEnumerable<string>? environment) =>
        environment?.Select(e => e.Split('=', 2)).LastOrDefault(e => e is ["MACHINE_LEARNING_WORKERS", _]) is [_, var value]
        && int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var workers) && workers > 0
            ? workers
            : 1;
}
