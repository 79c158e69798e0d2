using GpuSplit.Planner.Catalog;
using GpuSplit.Planner.Fit;
using GpuSplit.Planner.Memory;

namespace GpuSplit.Planner.Measure;

/// <summary>
/// Puts a measurements file's figures into the catalog, where `planner fit --gpu NAME` prefers them to estimates.
/// A figure measured through Immich's own service beats one measured in-process (it is the runtime, cuDNN and
/// image that will really run); either beats a figure the catalog itself carries for the same device. Combinations
/// run through the service go to the fit as they are: they judge a whole plan, not a component.
/// </summary>
public static class MeasuredFigures
{
    public static ModelCatalog Apply(ModelCatalog catalog, MeasurementsDocument measurements, string file)
    {
        var models = catalog.Models.Select(model => model with
        {
            Components = model.Components.Select(component => Apply(model, component, measurements, file)).ToList(),
        }).ToList();
        return catalog with { Models = models };
    }

    /// <summary>The combinations the file's `service` entries ran, on every card: `planner fit` picks those of its own.</summary>
    public static IReadOnlyList<MeasuredCombination> Combinations(MeasurementsDocument measurements) =>
    [
        .. from device in measurements.Devices
           from entry in device.Value
           where FigureOriginNames.OfMethod(entry.Method) == FigureOrigin.Service
           from c in entry.Combinations ?? []
           select new MeasuredCombination(device.Key, c.Models, c.Concurrency, c.Verdict == Verdict.Oom.WireName(), c.OutOfMemory, c.PeakBytes,
               c.DeviceTotalBytes, c.Runtime, c.MeasuredAt),
    ];

    /// <summary>
    /// A worker's bare context on <paramref name="gpu"/>: from the service (Immich's own worker) where it ran, else from
    /// the planner's own runtime; null when the file measured none on that card.
    /// </summary>
    public static FigureContext? Context(MeasurementsDocument measurements, string gpu, string file) =>
        measurements.Devices.TryGetValue(gpu, out var entries)
            ? entries.Where(e => e.ContextBytes > 0).OrderBy(e => Rank(e.Method))
                .Select(e => new FigureContext(e.ContextBytes, FigureOriginNames.OfMethod(e.Method), $"{file} ({e.Method}, {e.Runtime}, {e.MeasuredAt:yyyy-MM-dd})"))
                .FirstOrDefault()
            : null;

    /// <summary>The devices the file has figures for, to tell a mistyped --gpu from a card never measured.</summary>
    public static IReadOnlyCollection<string> Devices(MeasurementsDocument measurements) => measurements.Devices.Keys;

    private static CatalogComponent Apply(CatalogModel model, CatalogComponent component, MeasurementsDocument measurements, string file)
    {
        var measured = new Dictionary<string, MeasuredFootprint>(component.Measured, StringComparer.Ordinal);
        foreach (var (device, entries) in measurements.Devices)
        {
            var best = entries
                .OrderBy(e => Rank(e.Method))
                .SelectMany(e => e.Components
                    .Where(c => string.Equals(c.Model, model.Name, StringComparison.OrdinalIgnoreCase)
                        && c.Task == model.Task.WireName() && c.Type == component.Type.WireName())
                    .Select(c => (Entry: e, Component: c)))
                .FirstOrDefault();
            if (best.Component is { } figures)
            {
                measured[device] = new MeasuredFootprint(
                    figures.Share.LoadedBytes,
                    figures.Share.PeakBytes,
                    best.Entry.Method,
                    $"{file} ({best.Entry.Method}, {figures.Runtime}, {figures.MeasuredAt:yyyy-MM-dd})");
            }
        }

        return component with { Measured = measured };
    }

    private static int Rank(string method) => method switch
    {
        "service" => 0,
        MeasureRun.InProcess => 1,
        _ => 2,
    };
}
