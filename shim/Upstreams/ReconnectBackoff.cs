using GpuSplit.Shim.Configuration;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;

namespace GpuSplit.Shim.Upstreams;

/// <summary>
/// How a watcher retries an agent that does not answer: exponential back-off with jitter, capped so that a
/// box waking up is noticed within <see cref="AgentWatchOptions.ReconnectMaxDelay"/>, forever until the
/// shim stops.
/// </summary>
public sealed class ReconnectBackoff(IOptions<ShimOptions> options, TimeProvider time)
{
    /// <param name="onFailure">Told about every failed attempt, so the box shows as asleep while retries go on.</param>
    public ResiliencePipeline Create(Action<Exception> onFailure, CancellationToken stopping)
    {
        var watch = options.Value.AgentWatch;
        return new ResiliencePipelineBuilder { TimeProvider = time }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is { } e && ShouldRetry(e, stopping)),
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = watch.ReconnectDelay,
                MaxDelay = watch.ReconnectMaxDelay,
                OnRetry = args =>
                {
                    onFailure(args.Outcome.Exception!);
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }

    private static bool ShouldRetry(Exception e, CancellationToken stopping) =>
        !stopping.IsCancellationRequested && e is not Grpc.Core.RpcException { StatusCode: Grpc.Core.StatusCode.Unimplemented };
}
