using GpuSplit.Planner.Catalog;

namespace GpuSplit.Planner.Measure;

/// <summary>A component found in the cache, with the catalog entry that gives its input shape and batch.</summary>
public sealed record MeasureTarget(CachedComponent Cached, CatalogModel Model, CatalogComponent Component)
{
    public string Label => Cached.Label;
}

/// <summary>The components to measure, what was skipped (warnings) and what was asked for but cannot be (failures).</summary>
public sealed record MeasurePlan(IReadOnlyList<MeasureTarget> Targets, IReadOnlyList<string> Warnings, IReadOnlyList<MeasureFailure> Failures);

/// <summary>Matches the model cache's folders to the catalog, and applies <c>--only</c>.</summary>
public static class CatalogMatch
{
    /// <param name="only">Model names ("PP-OCRv5_mobile") or components ("PP-OCRv5_mobile/detection"); null for all.</param>
    public static MeasurePlan Match(CacheScan scan, ModelCatalog catalog, IReadOnlyList<string>? only)
    {
        var warnings = new List<string>(scan.Warnings);
        var failures = new List<MeasureFailure>();
        var known = new List<MeasureTarget>();
        var unknown = new List<CachedComponent>();
        foreach (var cached in scan.Components)
        {
            var model = catalog.Find(cached.Model);
            if (model is null || model.Task.WireName() != cached.Task
                || !CatalogNames.TryParseComponent(cached.Type, out var type) || model.Component(type) is not { } component)
            {
                unknown.Add(cached);
                continue;
            }

            known.Add(new MeasureTarget(cached, model, component));
        }

        if (only is null)
        {
            warnings.AddRange(unknown.Select(c => $"{NotInCatalog(c)}; skipped"));
            return new MeasurePlan(known, warnings, failures);
        }

        var selected = new List<MeasureTarget>();
        foreach (var name in only)
        {
            var matches = known.Where(t => Selects(name, t.Cached)).ToList();
            if (matches.Count > 0)
            {
                selected.AddRange(matches.Where(m => !selected.Contains(m)));
            }
            else if (unknown.FirstOrDefault(c => Selects(name, c)) is { } uncatalogued)
            {
                failures.Add(new MeasureFailure(name, $"--only {name}: {NotInCatalog(uncatalogued)}"));
            }
            else
            {
                var available = known.Select(t => t.Cached.Model).Distinct().ToList();
                failures.Add(new MeasureFailure(name,
                    $"--only {name}: no such model in the cache ({(available.Count == 0 ? "it holds no catalog model" : $"found: {string.Join(", ", available)}")})"));
            }
        }

        return new MeasurePlan(selected, warnings, failures);
    }

    private static bool Selects(string name, CachedComponent cached)
    {
        var slash = name.IndexOf('/', StringComparison.Ordinal);
        return slash < 0
            ? string.Equals(name, cached.Model, StringComparison.OrdinalIgnoreCase)
            : string.Equals(name[..slash], cached.Model, StringComparison.OrdinalIgnoreCase) && name[(slash + 1)..] == cached.Type;
    }

    private static string NotInCatalog(CachedComponent cached) =>
        $"{cached.Label}: '{cached.Model}' is not a catalog model of task {cached.Task}";
}
