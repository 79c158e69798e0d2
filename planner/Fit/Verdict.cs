namespace GpuSplit.Planner.Fit;

/// <summary>How a combination sits on the card, from worst to best.</summary>
public enum Verdict
{
    /// <summary>The predicted peak is above the card's memory.</summary>
    Oom,

    /// <summary>It fits, but with less free than the headroom margin: a larger image or a game tips it over.</summary>
    Unstable,

    Fits,

    /// <summary>At least a quarter of the card stays free.</summary>
    Comfortable,
}

public static class VerdictNames
{
    public static string WireName(this Verdict verdict) => verdict switch
    {
        Verdict.Oom => "oom",
        Verdict.Unstable => "unstable",
        Verdict.Fits => "fits",
        Verdict.Comfortable => "comfortable",
        _ => throw new ArgumentOutOfRangeException(nameof(verdict), verdict, null),
    };
}
