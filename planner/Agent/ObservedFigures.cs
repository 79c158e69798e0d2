using GpuSplit.Planner.Catalog;
using GpuSplit.Planner.Memory;
using GpuSplit.Protos.V1;

namespace GpuSplit.Planner.Agent;

/// <summary>
/// Puts what the agent observed in production into the catalog, for one GPU and the newest ML image seen on it:
/// each load (one component, or a face model's two that loaded together) becomes an <see cref="ObservedFootprint"/> of
/// the components it covers. Loads that mix models, or name models the catalog does not know, are left out.
/// </summary>
public static class ObservedFigures
{
    /// <summary>The GPUs the agent has observations for.</summary>
    public static IReadOnlyList<string> Gpus(ObservedFootprints footprints) =>
        [.. footprints.Loads.Select(l => l.Gpu).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];

    /// <summary>The newest image seen on <paramref name="gpu"/>, whose figures <see cref="Apply"/> uses; null without any.</summary>
    public static string? Image(ObservedFootprints footprints, string gpu) =>
        footprints.Loads.Where(l => l.Gpu == gpu).OrderByDescending(l => l.LastSeen?.ToDateTimeOffset()).FirstOrDefault()?.Image;

    /// <summary>The worker's CUDA context the agent learned on <paramref name="gpu"/> with its newest image; null when none.</summary>
    public static FigureContext? Context(ObservedFootprints footprints, string gpu, string source)
    {
        var image = Image(footprints, gpu);
        return footprints.Contexts.Where(c => c.Gpu == gpu && c.Image == image && c.Bytes > 0).OrderByDescending(c => c.LearnedFrom)
            .Select(c => new FigureContext((long)c.Bytes, FigureOrigin.Observed, $"{source} (learned from {c.LearnedFrom} load(s), {image})"))
            .FirstOrDefault();
    }

    public static ModelCatalog Apply(ModelCatalog catalog, ObservedFootprints footprints, string gpu, string source, out int used)
    {
        var image = Image(footprints, gpu);
        var observed = new Dictionary<(string Model, ComponentType Type), ObservedFootprint>();
        foreach (var load in footprints.Loads.Where(l => l.Gpu == gpu && l.Image == image))
        {
            var models = load.Components.Select(c => c.Model).Distinct(StringComparer.OrdinalIgnoreCase).ToList();
            var types = load.Components.Select(c => CatalogNames.TryParseComponent(c.Type, out var type) ? type : (ComponentType?)null).ToList();
            if (models.Count != 1 || types.Any(t => t is null))
            {
                continue;
            }

            var figure = new ObservedFootprint((long)load.LoadBytes, [.. types.Select(t => t!.Value)],
                $"{source} ({load.Loads} load{(load.Loads == 1 ? "" : "s")}, {image}, last {load.LastSeen?.ToDateTimeOffset():yyyy-MM-dd})");
            foreach (var type in figure.LoadedWith)
            {
                observed[(models[0].ToUpperInvariant(), type)] = figure;
            }
        }

        var count = 0;
        var result = catalog with
        {
            Models = [.. catalog.Models.Select(model => model with
            {
                Components = [.. model.Components.Select(component =>
                {
                    if (!observed.TryGetValue((model.Name.ToUpperInvariant(), component.Type), out var figure)
                        || figure.LoadedWith.Any(t => model.Component(t) is null))
                    {
                        return component;
                    }

                    count++;
                    return component with
                    {
                        Observed = new Dictionary<string, ObservedFootprint>(component.Observed, StringComparer.Ordinal) { [gpu] = figure },
                    };
                })],
            })],
        };
        used = count;
        return result;
    }
}
