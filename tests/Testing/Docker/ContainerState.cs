using System.Globalization;
using System.Text.Json;

namespace GpuSplit.Testing.Docker;

/// <summary>The parts of <c>docker inspect</c>'s State a test asserts on.</summary>
public sealed record ContainerState(string Id, string Status, bool Running, bool OomKilled, int ExitCode, int Pid,
    DateTimeOffset StartedAt, DateTimeOffset FinishedAt, string Image)
{
    public static ContainerState From(JsonElement inspect)
    {
        var state = inspect.GetProperty("State");
        return new ContainerState(
            inspect.GetProperty("Id").GetString()!,
            state.GetProperty("Status").GetString()!,
            state.GetProperty("Running").GetBoolean(),
            state.GetProperty("OOMKilled").GetBoolean(),
            state.GetProperty("ExitCode").GetInt32(),
            state.GetProperty("Pid").GetInt32(),
            DateTimeOffset.Parse(state.GetProperty("StartedAt").GetString()!, CultureInfo.InvariantCulture),
            DateTimeOffset.Parse(state.GetProperty("FinishedAt").GetString()!, CultureInfo.InvariantCulture),
            inspect.GetProperty("Config").GetProperty("Image").GetString()!);
    }
}
