using GpuSplit.Agent.Footprints;
using GpuSplit.Agent.Hosting;
using GpuSplit.Agent.Power;
using GpuSplit.Agent.Status;
using GpuSplit.Agent.Watchdog;
using GpuSplit.Protos.V1;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace GpuSplit.Agent.Grpc;

/// <summary>gpusplit.v1.Agent: the whole picture for the shim, the planner and operators, the operator's restart, sleep, and the learned footprints.</summary>
public sealed partial class AgentService(AgentState state, WorkerSignals signals, SleepCoordinator sleep, FootprintLearner footprints,
    TimeProvider time, IOptions<AgentOptions> options, ILogger<AgentService> logger) : Protos.V1.Agent.AgentBase
{
    public override Task<AgentStatus> GetStatus(GetStatusRequest request, ServerCallContext context)
    {
        BearerToken.DemandRead(context, options.Value, "GetStatus");
        return Task.FromResult(StatusMapper.ToProto(state.Current));
    }

    /// <summary>Sends the picture at once, then on every change, and at least every heartbeat.</summary>
    public override async Task WatchStatus(WatchStatusRequest request, IServerStreamWriter<AgentStatus> responseStream, ServerCallContext context)
    {
        BearerToken.DemandRead(context, options.Value, "WatchStatus");
        var cancellationToken = context.CancellationToken;
        var heartbeat = options.Value.StatusHeartbeat;
        AgentStatus? last = null;
        var lastSent = time.GetTimestamp();
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var next = state.NextChangeAsync(cancellationToken);
                var status = StatusMapper.ToProto(state.Current);
                status.HeartbeatMs = (uint)heartbeat.TotalMilliseconds;
                if (last is null || !SameExceptTime(last, status) || time.GetElapsedTime(lastSent) >= heartbeat)
                {
                    await responseStream.WriteAsync(status, cancellationToken);
                    last = status;
                    lastSent = time.GetTimestamp();
                }

                await Task.WhenAny(next, Task.Delay(heartbeat - time.GetElapsedTime(lastSent) is { Ticks: > 0 } left ? left : heartbeat, time, cancellationToken));
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
    }

    public override async Task<RestartWorkerReply> RestartWorker(RestartWorkerRequest request, ServerCallContext context)
    {
        BearerToken.Demand(context, options.Value.Token, "RestartWorker");
        var reason = string.IsNullOrWhiteSpace(request.Reason) ? "no reason given" : request.Reason.Trim();
        LogOperatorRestart(logger, options.Value.Worker.Container, reason, context.Peer);
        var outcome = new TaskCompletionSource<RestartOutcome>(TaskCreationOptions.RunContinuationsAsynchronously);
        signals.Post(new OperatorRestart(reason, time.GetUtcNow(), outcome));
        var result = await outcome.Task.WaitAsync(context.CancellationToken);
        return new RestartWorkerReply { Restarted = result.Restarted, Message = result.Message };
    }

    /// <summary>Refused while a game or work uses the GPU; otherwise reported in the status first, then carried out.</summary>
    public override Task<SleepReply> Sleep(SleepRequest request, ServerCallContext context)
    {
        BearerToken.Demand(context, options.Value.Token, "Sleep");
        LogSleepRequested(logger, request.Reason, context.Peer);
        return sleep.RequestAsync(request.Reason, SleepChecks.From(state.Current), context.CancellationToken);
    }

    /// <summary>What the agent learned about the models' GPU memory; read-only, so open unless a read token is set.</summary>
    public override Task<ObservedFootprints> GetFootprints(GetFootprintsRequest request, ServerCallContext context)
    {
        BearerToken.DemandRead(context, options.Value, "GetFootprints");
        return Task.FromResult(FootprintsMapper.ToProto(footprints.Summary));
    }

    private static bool SameExceptTime(AgentStatus a, AgentStatus b)
    {
        var left = a.Clone();
        left.ObservedAt = b.ObservedAt;
        return left.Equals(b);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "RestartWorker for {Container} requested by {Peer}: {Reason}")]
    private static partial void LogOperatorRestart(ILogger logger, string container, string reason, string peer);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sleep requested by {Peer}: {Reason}")]
    private static partial void LogSleepRequested(ILogger logger, string reason, string peer);
}
