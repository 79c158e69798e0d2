namespace GpuSplit.Shim.Upstreams;

/// <summary>Turns what an agent said into a condition the admission decision can use.</summary>
public interface IUpstreamHealthPolicy
{
    (UpstreamCondition Condition, string State, string Reason) Assess(AgentView view);
}
