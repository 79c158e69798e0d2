using System.Globalization;

namespace GpuSplit.Testing.Docker;

/// <summary>
/// Names and labels for containers that tests create on a shared engine. Names are unique per test run and per
/// container; every container carries the owning process id, so a later run removes the containers of runs that
/// died without cleaning up, and never touches those of a run still alive (another developer's).
/// </summary>
public static class TestContainers
{
    public const string OwnerLabel = "gpusplit.test.owner-pid";

    private static readonly string RunId = Guid.NewGuid().ToString("N")[..8];
    private static int _counter;

    /// <summary>A fresh container name, e.g. <c>gpusplit-test-3fa2b1c0-ml-4</c>.</summary>
    public static string UniqueName(string purpose) =>
        $"gpusplit-test-{RunId}-{purpose}-{Interlocked.Increment(ref _counter)}";

    /// <summary>The <c>docker run</c>/<c>docker create</c> arguments that mark a container as this run's.</summary>
    public static IEnumerable<string> LabelArgs() =>
        ["--label", $"{OwnerLabel}={Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}"];

    public static async Task RemoveOrphansAsync(DockerEngine engine)
    {
        var list = await engine.CliAsync("ps", "-a", "--filter", $"label={OwnerLabel}",
            "--format", $"{{{{.ID}}}} {{{{.Label \"{OwnerLabel}\"}}}}");
        if (!list.Ok)
        {
            return;
        }

        foreach (var line in list.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            var parts = line.Split(' ', 2);
            if (parts.Length == 2 && int.TryParse(parts[1], out var pid) && !Directory.Exists($"/proc/{pid}"))
            {
                await engine.CliAsync("rm", "-f", parts[0]);
            }
        }
    }
}
