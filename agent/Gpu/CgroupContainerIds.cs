using System.Text.RegularExpressions;

namespace GpuSplit.Agent.Gpu;

/// <summary>
/// The container a host process belongs to, from <c>/proc/&lt;pid&gt;/cgroup</c>: Docker puts each container in a
/// cgroup named after its 64-hex-digit id (<c>/docker/&lt;id&gt;</c> with cgroup v1 or the cgroupfs driver,
/// <c>/system.slice/docker-&lt;id&gt;.scope</c> with systemd). Needs the host's /proc (pid: host in a container).
/// </summary>
public static partial class CgroupContainerIds
{
    public static string? Read(uint pid, string procRoot = "/proc")
    {
        try
        {
            return Parse(File.ReadAllText(Path.Combine(procRoot, pid.ToString(System.Globalization.CultureInfo.InvariantCulture), "cgroup")));
        }
        catch (Exception error) when (error is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    public static string? Parse(string cgroupFile) =>
        ContainerId().Matches(cgroupFile) is { Count: > 0 } matches ? matches[^1].Groups["id"].Value : null;

    [GeneratedRegex("(?:docker[-/]|/)(?<id>[0-9a-f]{64})(?:\\.scope)?(?:$|/|\\n)", RegexOptions.Multiline)]
    private static partial Regex ContainerId();
}
