using GpuSplit.Agent.Status;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace GpuSplit.Agent.Health;

/// <summary>
/// The ASP.NET Core health check behind grpc.health.v1 (services "" and "immich-ml"): healthy only when the worker
/// runs, answers /ping, and the GPU is not exhausted; the description says why not.
/// </summary>
public sealed class WorkerHealthCheck(AgentState state) : IHealthCheck
{
    public const string Name = "immich-ml";

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var snapshot = state.Current;
        return Task.FromResult(snapshot.Serving
            ? HealthCheckResult.Healthy("serving")
            : HealthCheckResult.Unhealthy(snapshot.NotServingReason));
    }
}
