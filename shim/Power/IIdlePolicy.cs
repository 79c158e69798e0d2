namespace GpuSplit.Shim.Power;

/// <summary>Decides when to ask a GPU box's agent to put the box to sleep.</summary>
public interface IIdlePolicy
{
    IdleDecision Decide(IdleInput input);

    /// <summary>The agent's answer to the last request: accepted (going to sleep) or refused with its reason.</summary>
    void Answered(bool accepted, string message);
}

/// <param name="Serving">The box's agent reports SERVING.</param>
/// <param name="Busy">Requests in flight to the box or held for it.</param>
/// <param name="LastWorkAt">The last ML request the shim received (any kind); null when none since start.</param>
/// <param name="Backlog">Immich's ML queues; null when unknown.</param>
public sealed record IdleInput(bool Serving, int Busy, DateTimeOffset? LastWorkAt, MlBacklog? Backlog);

public sealed record IdleDecision(bool AskToSleep, string Reason);
