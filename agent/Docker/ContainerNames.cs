using Docker.DotNet;

namespace GpuSplit.Agent.Docker;

/// <summary>
/// Names of other containers whose processes use the GPU (a game in a container, another ML service), to say who
/// holds the contended memory. Read-only: the agent inspects other containers, never acts on them.
/// </summary>
public sealed class ContainerNames(DockerClientProvider docker)
{
    private const int MaxRemembered = 256;
    private readonly Dictionary<string, string?> _names = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    public async Task<string?> NameOfAsync(string id, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_names.TryGetValue(id, out var known))
            {
                return known;
            }
        }

        string? name;
        try
        {
            var client = await docker.GetAsync(cancellationToken);
            name = (await client.Containers.InspectContainerAsync(id, cancellationToken)).Name.TrimStart('/');
        }
        catch (DockerContainerNotFoundException)
        {
            name = null;
        }

        lock (_gate)
        {
            if (_names.Count >= MaxRemembered)
            {
                _names.Clear();
            }

            _names[id] = name;
        }

        return name;
    }
}
