using System.Globalization;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace GpuSplit.MlService.Docker;

/// <summary>A container's processes as the host numbers them: what NVML reports.</summary>
public static class ContainerProcesses
{
    /// <summary>Host pids of the processes in <paramref name="container"/> (a name or an id); empty when it does not run.</summary>
    public static async Task<IReadOnlySet<uint>> HostPidsAsync(DockerClient client, string container, CancellationToken cancellationToken)
    {
        try
        {
            // `docker top`: the engine lists the container's processes with host pids, which is what NVML reports,
            // even when the caller itself runs in a container without the host's pid namespace.
            var top = await client.Containers.ListProcessesAsync(container, new ContainerListProcessesParameters(), cancellationToken);
            var column = top.Titles.IndexOf("PID");
            return column < 0
                ? new HashSet<uint>()
                : top.Processes.Select(row => uint.TryParse(row[column], CultureInfo.InvariantCulture, out var pid) ? pid : 0)
                    .Where(pid => pid != 0).ToHashSet();
        }
        catch (DockerApiException)
        {
            // Not running (409) or gone (404): no processes.
            return new HashSet<uint>();
        }
    }
}
