using GpuSplit.Shim.Classification;
using GpuSplit.Shim.Forwarding;
using GpuSplit.Shim.Upstreams;

namespace GpuSplit.Shim.Admission;

/// <summary>
/// A serving box takes the work. Otherwise, while some box is only away (asleep, restarting), background
/// jobs wait for it, because Immich drops a failed job for good, and a search query is refused at once,
/// because a person is waiting. When every box is in lasting trouble, everything is refused at once.
/// </summary>
public sealed class HealthGatedAdmission(IUpstreamSelector selector) : IAdmissionPolicy
{
    public AdmissionDecision Decide(MlRequestKind kind, IReadOnlyList<Upstream> upstreams)
    {
        var serving = upstreams.Where(u => u.Health.Condition == UpstreamCondition.Serving).ToArray();
        if (serving.Length > 0)
        {
            return new AdmissionDecision.Forward(selector.Select(serving));
        }

        var away = upstreams.Select(u => u.Health).FirstOrDefault(h => h.Condition == UpstreamCondition.Transient);
        if (away is not null)
        {
            return kind.IsInteractive() ? new AdmissionDecision.Refuse(away, Lasting: false) : new AdmissionDecision.Hold(away);
        }

        return new AdmissionDecision.Refuse(upstreams[0].Health, Lasting: true);
    }
}
