namespace GpuSplit.Shim.Power;

/// <summary>What the power loop reads from the proxy each turn: the GPU boxes and the work it has seen.</summary>
public interface IPowerInputs
{
    /// <summary>The configured boxes, in configuration order (index N is <c>Shim:Upstreams:N</c>).</summary>
    IReadOnlyList<BoxState> Boxes { get; }

    /// <summary>Background jobs held right now, waiting for a box.</summary>
    int HeldJobs { get; }

    /// <summary>When the last ML request arrived (any kind, search included); null when none since start.</summary>
    DateTimeOffset? LastWorkAt { get; }
}

/// <param name="Answering">The box's agent answers its watch streams, or its ML service its ping: the box is awake.</param>
/// <param name="Serving">The agent reports SERVING, or, with the agent away, the ML service answers its ping.</param>
/// <param name="GoingToSleep">The agent reported that it is putting the box to sleep on purpose.</param>
/// <param name="InFlight">Requests being forwarded to the box now.</param>
public sealed record BoxState(int Index, string Name, Uri Agent, bool Answering, bool Serving, bool GoingToSleep, int InFlight)
{
    /// <summary>The agent's bearer token, needed for Sleep; kept out of <see cref="ToString"/>.</summary>
    public string? Token { get; init; }

    /// <summary>False while the agent does not answer and the box is known awake only by its ML service: no one to ask to sleep.</summary>
    public bool AgentAnswering { get; init; } = true;

    public override string ToString() => $"{Name} (answering {Answering}, serving {Serving}, going to sleep {GoingToSleep}, in flight {InFlight}{(AgentAnswering ? "" : ", agent unreachable")})";
}
