namespace GpuSplit.Planner.Memory;

/// <summary>Where a footprint figure came from; every figure `planner fit` prints says which.</summary>
public enum FigureOrigin
{
    /// <summary>The memory model, from the catalog's sourced figures.</summary>
    Estimate,

    /// <summary>`planner-measure --models`: an in-process ONNX Runtime session on this GPU.</summary>
    Measured,

    /// <summary>`planner measure --service`: through Immich's own ML container on this GPU.</summary>
    Service,

    /// <summary>The agent, watching Immich's ML worker in production on this GPU (`planner fit --agent`).</summary>
    Observed,

    /// <summary>A field report: what the combination did on a card (an outcome, not a figure), from the seed, a file or the agent.</summary>
    Evidence,
}

public static class FigureOriginNames
{
    public static string WireName(this FigureOrigin origin) => origin switch
    {
        FigureOrigin.Estimate => "estimate",
        FigureOrigin.Measured => "measured",
        FigureOrigin.Service => "service",
        FigureOrigin.Observed => "observed",
        FigureOrigin.Evidence => "evidence",
        _ => throw new ArgumentOutOfRangeException(nameof(origin), origin, null),
    };

    /// <summary>The origin of figures a measurements file's entry of this method holds.</summary>
    public static FigureOrigin OfMethod(string method) => method == "service" ? FigureOrigin.Service : FigureOrigin.Measured;
}
