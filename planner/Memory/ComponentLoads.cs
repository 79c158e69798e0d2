using GpuSplit.Planner.Catalog;

namespace GpuSplit.Planner.Memory;

/// <summary>
/// Turns catalog entries into the memory model's inputs: measured figures for the named GPU where the catalog
/// (or a measurements file merged into it) has them, the static estimate otherwise; and weights observed by the
/// agent in production where it saw them.
/// </summary>
public static class ComponentLoads
{
    public static IEnumerable<ComponentLoad> For(CatalogModel model, string? gpu, RuntimeCosts costs)
    {
        var loads = model.Components.Select(component => For(model, component, gpu, costs)).ToList();
        return gpu is null ? loads : [.. loads.Select(load => WithObservedWeights(model, load, loads, gpu))];
    }

    public static ComponentLoad For(CatalogModel model, CatalogComponent component, string? gpu, RuntimeCosts costs)
    {
        if (gpu is not null && component.Measured.TryGetValue(gpu, out var measured))
        {
            // A measurement of one request already holds the activations and scratch at Immich's input; the
            // ratchet still applies, because one measurement sees one input size.
            var perRequest = Math.Max(0, measured.PeakBytes - measured.WeightsBytes);
            return new ComponentLoad(model.Name, model.Task, component.Type, measured.WeightsBytes, perRequest,
                Ratchet(component, perRequest), FigureOriginNames.OfMethod(measured.Method));
        }

        var perRequestBytes = (component.ActivationBytes?.Bytes ?? 0) + (HasConvolutions(component) ? costs.ConvWorkspaceBytes : 0);
        return new ComponentLoad(model.Name, model.Task, component.Type, component.CountedWeightsBytes ?? component.FileBytes.Bytes, perRequestBytes,
            Ratchet(component, perRequestBytes), FigureOrigin.Estimate);
    }

    /// <summary>
    /// The agent saw the worker grow by <see cref="ObservedFootprint.LoadBytes"/> when these components loaded: their
    /// weights and the arena of the one request that loaded them. The per-request figures stay where they came from;
    /// the weights are what is left, shared among components that loaded together in proportion to their other weights.
    /// </summary>
    private static ComponentLoad WithObservedWeights(CatalogModel model, ComponentLoad load, IReadOnlyList<ComponentLoad> loads, string gpu)
    {
        if (model.Component(load.Type) is not { } component || !component.Observed.TryGetValue(gpu, out var observed))
        {
            return load;
        }

        var together = loads.Where(l => observed.LoadedWith.Contains(l.Type)).ToList();
        var weights = Math.Max(0, observed.LoadBytes - together.Sum(l => l.PerRequestBytes));
        var others = together.Sum(l => l.WeightsBytes);
        var share = others > 0 ? (double)load.WeightsBytes / others : 1.0 / together.Count;
        return load with { WeightsBytes = (long)Math.Round(weights * share), Origin = FigureOrigin.Observed, ActivationsOrigin = load.ActivationsOrigin };
    }

    /// <summary>
    /// Every image tower here runs convolutions through cuDNN (CNN detectors and recognizers, and the patch
    /// embedding of a ViT, which is a Conv operator); text encoders have none.
    /// </summary>
    public static bool HasConvolutions(CatalogComponent component) => component.Type != ComponentType.Textual;

    /// <summary>
    /// The arena keeps one buffer for every input size it has seen. Sizes step through the varying dimension from
    /// its smallest value to the largest (the catalog's shape); activations scale with that dimension, so each
    /// smaller size costs its share of the largest size's per-request bytes. The largest size itself is counted
    /// as the per-request term.
    /// </summary>
    public static long Ratchet(CatalogComponent component, long perRequestAtLargest)
    {
        if (component.Input?.Varying is not { } varying)
        {
            return 0;
        }

        var largest = component.Input.Shape[varying.Axis];
        long total = 0;
        for (var size = varying.From; size < largest; size += varying.Step)
        {
            total += perRequestAtLargest * size / largest;
        }

        return total;
    }
}
