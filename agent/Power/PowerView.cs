namespace GpuSplit.Agent.Power;

/// <summary>Whether the box is going to sleep on purpose, as the agent reports it (AgentStatus.power).</summary>
/// <param name="CommandError">Set when the sleep command failed: the box stays awake.</param>
public sealed record PowerView(bool GoingToSleep, string? Reason, DateTimeOffset? Since, string? CommandError)
{
    public static readonly PowerView Awake = new(false, null, null, null);
}

/// <summary>Where the coordinator publishes the power view: the agent's status, seen by WatchStatus.</summary>
public interface IPowerStatusSink
{
    PowerView Current { get; }

    void Publish(PowerView view);
}
