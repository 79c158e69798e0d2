using GpuSplit.Agent.Status;
using Grpc.Health.V1;
using Grpc.HealthCheck;

namespace GpuSplit.Agent.Health;

/// <summary>
/// Writes every change of the agent's serving state into grpc.health.v1's status cache the moment it happens, which is
/// what Watch streams follow. The health checks publisher would refresh that cache once a period instead, while a Watch
/// starts from a freshly run check: a stream opened during a moment the publisher never saw (a Sleep accepted and
/// abandoned within one period) kept that moment's NOT_SERVING for as long as the cache did not change, and the shim
/// held every job for a box that was serving. Check keeps running the health check itself.
/// </summary>
public sealed class ServingStatusPush(AgentState state, HealthServiceImpl health) : BackgroundService
{
    /// <summary>The services grpc.health.v1 answers for: the whole agent ("") and the worker.</summary>
    public static readonly IReadOnlyList<string> Services = ["", WorkerHealthCheck.Name];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                // Taken before the reading, so a change between the two is not missed.
                var next = state.NextChangeAsync(stoppingToken);
                var status = state.Current.Serving ? HealthCheckResponse.Types.ServingStatus.Serving : HealthCheckResponse.Types.ServingStatus.NotServing;
                foreach (var service in Services)
                {
                    health.SetStatus(service, status);
                }

                await next;
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
