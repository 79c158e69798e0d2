using GpuSplit.Shim.Upstreams;

namespace GpuSplit.Shim.Admission;

/// <summary>What to do with an ML request given the boxes' health right now.</summary>
public abstract record AdmissionDecision
{
    private AdmissionDecision()
    {
    }

    /// <summary>Send it to this box.</summary>
    public sealed record Forward(Upstream Upstream) : AdmissionDecision;

    /// <summary>Keep it until a box serves (background work while the boxes are away for a while).</summary>
    public sealed record Hold(UpstreamHealth Cause) : AdmissionDecision;

    /// <summary>Answer 503 now; <paramref name="Lasting"/> when waiting cannot help.</summary>
    public sealed record Refuse(UpstreamHealth Cause, bool Lasting) : AdmissionDecision;
}
