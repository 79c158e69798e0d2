namespace GpuSplit.Shim.Power;

/// <summary>Decides, for one GPU box, whether to send a magic packet now.</summary>
public interface IWakePolicy
{
    /// <summary>The last decision's state and reason, without sending anything.</summary>
    WakeDecision Current { get; }

    WakeDecision Decide(WakeInput input);
}

/// <param name="AgentAnswering">The box's agent answers: it is awake (or waking), whatever its worker does.</param>
/// <param name="HeldJobs">Background jobs the shim holds for a box right now.</param>
/// <param name="Backlog">Jobs in Immich's ML queues; null when unknown (no API key, API failing).</param>
public sealed record WakeInput(bool AgentAnswering, int HeldJobs, long? Backlog);

public enum WakeState
{
    /// <summary>Nothing to wake for, or the box is awake.</summary>
    Idle,

    /// <summary>Work waits, but the quiet hours forbid waking.</summary>
    Quiet,

    /// <summary>Packets sent, the agent not yet answering.</summary>
    Waking,

    /// <summary>The agent never answered; no more packets until the work goes away or the box appears.</summary>
    GaveUp,
}

/// <param name="Send">Send a magic packet now.</param>
/// <param name="Since">When the current state began (for "waking since ...").</param>
public sealed record WakeDecision(bool Send, WakeState State, DateTimeOffset Since, string Reason);
