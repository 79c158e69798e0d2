using GpuSplit.Protos.V1;
using Grpc.Health.V1;

namespace GpuSplit.Shim.Upstreams;

/// <summary>
/// What a box's agent last said on its two watch streams. A stream that is not open leaves its part null:
/// its last word no longer holds.
/// </summary>
public sealed record AgentView(
    HealthCheckResponse.Types.ServingStatus? Health,
    AgentStatus? Status,
    string? LastError)
{
    public static readonly AgentView Initial = new(null, null, null);

    /// <summary>At least one stream is open: the agent (and so the box) is awake.</summary>
    public bool Answering => Health is not null || Status is not null;
}
