using GpuSplit.Shim.Classification;
using GpuSplit.Shim.Upstreams;

namespace GpuSplit.Shim.Admission;

/// <summary>Decides, from the kind of request and the boxes' health, whether it goes, waits or is refused.</summary>
public interface IAdmissionPolicy
{
    AdmissionDecision Decide(MlRequestKind kind, IReadOnlyList<Upstream> upstreams);
}
