using System.Text.Json;

namespace GpuSplit.Planner.Tests.Measure;

/// <summary>Reading `planner measure --json` output and measurements files in tests.</summary>
internal static class MeasureJson
{
    public static JsonElement Component(JsonElement components, string model, string type) =>
        components.EnumerateArray().Single(c => c.GetProperty("model").GetString() == model && c.GetProperty("type").GetString() == type);

    public static long Long(this JsonElement element, params string[] path)
    {
        foreach (var name in path)
        {
            element = element.GetProperty(name);
        }

        return element.GetInt64();
    }

    /// <summary>The in-process entry for <paramref name="device"/> in a measurements file.</summary>
    public static JsonElement InProcessEntry(JsonDocument file, string device) =>
        file.RootElement.GetProperty("devices").GetProperty(device).EnumerateArray().Single(e => e.GetProperty("method").GetString() == "in-process");
}
