namespace GpuSplit.Shim.Power;

/// <summary>Asks a box's agent to put the box to sleep.</summary>
public interface IAgentPower
{
    /// <summary>Never throws for an agent that refuses or does not answer: the answer says why.</summary>
    Task<SleepAnswer> SleepAsync(BoxState box, string reason, CancellationToken cancellationToken);
}

public sealed record SleepAnswer(bool Accepted, string Message);
