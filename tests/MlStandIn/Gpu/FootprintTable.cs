using System.Globalization;

namespace GpuSplit.MlStandIn.Gpu;

/// <summary>What one model component holds on the "GPU": its weights once loaded, and what each request in flight adds.</summary>
public sealed record ComponentFootprint(long WeightsBytes, long PerRequestBytes);

/// <summary>
/// STANDIN_FOOTPRINTS: the memory the stand-in's worker takes, in MiB, e.g.
/// <c>context=300;ViT-B-32__openai/visual=338+60;buffalo_l/detection=16+120</c>: the CUDA context a worker pays at
/// its first load, and per component (model/type) its weights + its memory per request in flight.
/// </summary>
public sealed class FootprintTable
{
    private const long Mib = 1024 * 1024;

    private FootprintTable(long contextBytes, IReadOnlyDictionary<string, ComponentFootprint> components)
    {
        ContextBytes = contextBytes;
        Components = components;
    }

    public long ContextBytes { get; }

    /// <summary>Keyed "model/type", as Immich's cache names the folders.</summary>
    public IReadOnlyDictionary<string, ComponentFootprint> Components { get; }

    public static bool TryParse(string text, out FootprintTable table, out string error)
    {
        table = new FootprintTable(0, new Dictionary<string, ComponentFootprint>());
        error = "";
        long context = 0;
        var components = new Dictionary<string, ComponentFootprint>(StringComparer.Ordinal);
        foreach (var entry in text.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var pair = entry.Split('=', 2, StringSplitOptions.TrimEntries);
            if (pair.Length != 2)
            {
                error = $"'{entry}' is not name=MiB";
                return false;
            }

            if (pair[0] == "context")
            {
                if (!TryMib(pair[1], out context))
                {
                    error = $"bad context '{pair[1]}'";
                    return false;
                }

                continue;
            }

            var figures = pair[1].Split('+', 2, StringSplitOptions.TrimEntries);
            if (!pair[0].Contains('/', StringComparison.Ordinal) || figures.Length != 2
                || !TryMib(figures[0], out var weights) || !TryMib(figures[1], out var perRequest))
            {
                error = $"'{entry}' is not model/type=weightsMiB+perRequestMiB";
                return false;
            }

            components[pair[0]] = new ComponentFootprint(weights, perRequest);
        }

        table = new FootprintTable(context, components);
        return true;
    }

    private static bool TryMib(string text, out long bytes)
    {
        var ok = long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var mib);
        bytes = mib * Mib;
        return ok;
    }
}
