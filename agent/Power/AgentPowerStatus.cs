using GpuSplit.Agent.Status;

namespace GpuSplit.Agent.Power;

/// <summary>The power view kept in the agent's facts, so GetStatus, WatchStatus and the health service carry it.</summary>
public sealed class AgentPowerStatus(AgentState state) : IPowerStatusSink
{
    public PowerView Current => state.Current.Facts.Power;

    public void Publish(PowerView view) => state.Update(facts => facts with { Power = view });
}
