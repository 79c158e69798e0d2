namespace GpuSplit.Planner.Memory;

/// <summary>Where a footprint figure came from; every figure `planner fit` prints says which.</summary>
public enum FigureOrigin
{
    /// <summary>The memory model, from the catalog's sourced figures.</summary>
    Estimate,

    /// <summary>`planner measure`, in-process ONNX Runtime session on this GPU.</summary>
    Measured,
}

public static class FigureOriginNames
{
    public static string WireName(this FigureOrigin origin) => origin switch
    {
        FigureOrigin.Estimate => "estimate",
        FigureOrigin.Measured => "measured",
        _ => throw new ArgumentOutOfRangeException(nameof(origin), origin, null),
    };
}
