using GpuSplit.Protos.V1;
using Grpc.Health.V1;

namespace GpuSplit.Shim.Upstreams;

/// <summary>
/// What a box's agent last said on its two watch streams. A stream that is not open leaves its part null:
/// its last word no longer holds. While the agent does not answer, <see cref="Ml"/> holds what the shim's own
/// <c>/ping</c> of the box's ML service found; null while the agent answers, or before the first ping after it stopped.
/// </summary>
public sealed record AgentView(
    HealthCheckResponse.Types.ServingStatus? Health,
    AgentStatus? Status,
    string? LastError,
    MlPing? Ml = null)
{
    public static readonly AgentView Initial = new(null, null, null);

    /// <summary>At least one stream is open: the agent (and so the box) is awake.</summary>
    public bool Answering => Health is not null || Status is not null;

    /// <summary>The agent was tried and does not answer: the shim asks the ML service itself.</summary>
    public bool AgentAway => !Answering && LastError is not null;
}

/// <summary>The answer to one <c>GET /ping</c> of a box's ML service: answering or not, and what was seen.</summary>
public sealed record MlPing(bool Answering, string Detail);
