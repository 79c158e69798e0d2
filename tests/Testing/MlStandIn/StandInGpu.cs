using System.Globalization;

namespace GpuSplit.Testing.MlStandIn;

/// <summary>One model component's footprint in the stand-in's table: its weights, and what each request in flight adds.</summary>
public sealed record StandInFootprint(long WeightsMib, long PerRequestMib);

/// <summary>
/// The stand-in's pretend GPU (tests/MlStandIn/README.md, "Footprints"): a footprint table keyed "model/type", the
/// worker's CUDA context, the card's size, how long a load takes, and the model TTL.
/// </summary>
public sealed record StandInGpu
{
    public long ContextMib { get; init; }

    public IReadOnlyDictionary<string, StandInFootprint> Components { get; init; } = new Dictionary<string, StandInFootprint>();

    public long CardMib { get; init; } = 6144;

    /// <summary>Between the "Loading ... model" line and the weights: a session's creation time.</summary>
    public int LoadDelayMs { get; init; } = 200;

    /// <summary>MACHINE_LEARNING_MODEL_TTL in seconds (checked every second); null: Immich's default, 300.</summary>
    public int? TtlSeconds { get; init; }

    /// <summary>STANDIN_FOOTPRINTS.</summary>
    public string Table => string.Join(';', [
        $"context={ContextMib.ToString(CultureInfo.InvariantCulture)}",
        .. Components.Select(c => string.Create(CultureInfo.InvariantCulture, $"{c.Key}={c.Value.WeightsMib}+{c.Value.PerRequestMib}")),
    ]);

    public StandInFootprint this[string modelAndType] => Components[modelAndType];
}
