namespace GpuSplit.Planner.Catalog;

/// <summary>A number from the catalog together with where it came from: a source id, or "derived" and how.</summary>
public sealed record Figure(double Value, string Source, string? Derivation = null, string? Note = null)
{
    public const string Derived = "derived";

    /// <summary>A figure nobody could source yet: used, but shown as such, and a note must say what it is.</summary>
    public const string Unverified = "unverified";

    public long Bytes => checked((long)Value);
}

public sealed record CatalogSource(string Id, string Title, string? Url);

/// <summary>
/// The tensor shape Immich feeds a component, with the batch it uses. Where the shape changes with every image
/// (OCR detection), <see cref="Shape"/> is the largest Immich sends and <see cref="Varying"/> says how it varies.
/// </summary>
public sealed record InputSpec(IReadOnlyList<long> Shape, int Batch, string Source, string? Note = null)
{
    public VaryingDimension? Varying { get; init; }

    public long Elements => Shape.Aggregate(1L, (product, dimension) => product * dimension);
}

/// <summary>One dimension of the input that takes every value from <see cref="From"/> to the shape's in steps.</summary>
public sealed record VaryingDimension(int Axis, long From, long Step);

public sealed record Quality(string Metric, Figure Figure);

public sealed record CatalogComponent(
    ComponentType Type,
    Figure FileBytes,
    Figure? Parameters,
    InputSpec? Input,
    Figure? ActivationBytes)
{
    /// <summary>
    /// The initializer bytes counted from the model file itself (`planner fit --models`), exact where the catalog's
    /// file size is a page's rounded figure; null when no file was at hand.
    /// </summary>
    public long? CountedWeightsBytes { get; init; }

    /// <summary>Measured footprints, keyed by GPU name (or "cpu"), as `planner measure` records them.</summary>
    public IReadOnlyDictionary<string, MeasuredFootprint> Measured { get; init; } =
        new Dictionary<string, MeasuredFootprint>(StringComparer.Ordinal);

    /// <summary>Observed in production by the agent (`planner fit --agent`), keyed by GPU name.</summary>
    public IReadOnlyDictionary<string, ObservedFootprint> Observed { get; init; } =
        new Dictionary<string, ObservedFootprint>(StringComparer.Ordinal);
}

/// <summary>What a measurement of one component found on one device.</summary>
public sealed record MeasuredFootprint(long WeightsBytes, long PeakBytes, string Method, string? Source = null);

/// <summary>
/// What the agent saw a component add to Immich's worker in production on one GPU: its weights and the arena of the
/// request that loaded it, together with the components in <see cref="LoadedWith"/> (itself included) that loaded
/// before the worker's memory settled.
/// </summary>
public sealed record ObservedFootprint(long LoadBytes, IReadOnlyList<ComponentType> LoadedWith, string Source);

public sealed record CatalogModel(
    string Name,
    ModelTask Task,
    bool Multilingual,
    Quality? Quality,
    IReadOnlyList<CatalogComponent> Components)
{
    public CatalogComponent? Component(ComponentType type) => Components.FirstOrDefault(c => c.Type == type);

    public long FileBytes => Components.Sum(c => c.FileBytes.Bytes);
}

public sealed record ModelCatalog(IReadOnlyList<CatalogModel> Models, IReadOnlyDictionary<string, CatalogSource> Sources)
{
    public CatalogModel? Find(string name) =>
        Models.FirstOrDefault(m => string.Equals(m.Name, name, StringComparison.OrdinalIgnoreCase));

    public IEnumerable<CatalogModel> ForTask(ModelTask task) => Models.Where(m => m.Task == task);
}
