using GpuSplit.Agent.Footprints;
using GpuSplit.Agent.Hosting;
using GpuSplit.Agent.Power;
using GpuSplit.Agent.Status;
using GpuSplit.Agent.Watchdog;
using GpuSplit.Protos.V1;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace GpuSplit.Agent.Grpc;

/// <summary>gpusplit.v1.Agent: the whole picture for the shim, the planner and operators, the operator's restart, sleep, the learned footprints and the field evidence.</summary>
public sealed partial class AgentService(AgentState state, WorkerSignals signals, SleepCoordinator sleep, FootprintLearner footprints,
    FootprintStore store, TimeProvider time, IOptions<AgentOptions> options, ILogger<AgentService> logger) : Protos.V1.Agent.AgentBase
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
        AgentSnapshot? lastSnapshot = null;
        AgentStatus? last = null;
        var lastSent = time.GetTimestamp();
        // One wait per change, not one per heartbeat: a wait that is not done holds a registration on the call's token
        // until the picture changes, and on a quiet box that can be hours of heartbeats.
        var next = state.NextChangeAsync(cancellationToken);
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                if (next.IsCompleted)
                {
                    next = state.NextChangeAsync(cancellationToken);
                }

                // Taken after the wait, so a change between the two is not missed. An unchanged snapshot maps to the
                // same message: a heartbeat sends that one again instead of building and comparing a new one.
                var snapshot = state.Current;
                var send = last is null || time.GetElapsedTime(lastSent) >= heartbeat;
                if (!ReferenceEquals(snapshot, lastSnapshot))
                {
                    var status = StatusMapper.ToProto(snapshot);
                    status.HeartbeatMs = (uint)heartbeat.TotalMilliseconds;
                    send |= !SameExceptTime(last!, status);
                    (last, lastSnapshot) = (status, snapshot);
                }

                if (send)
                {
                    await responseStream.WriteAsync(last!, cancellationToken);
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

    /// <summary>The field evidence from this card; read-only, so open unless a read token is set.</summary>
    public override Task<ObservedEvidence> GetEvidence(GetEvidenceRequest request, ServerCallContext context)
    {
        BearerToken.DemandRead(context, options.Value, "GetEvidence");
        return Task.FromResult(EvidenceMapper.ToProto(store.Evidence, options.Value.Evidence.MaxRecords));
    }

    private static bool SameExceptTime(AgentStatus? a, AgentStatus b)
    {
        if (a is null)
        {
            return false;
        }

        var left = a.Clone();
        left.ObservedAt = b.ObservedAt;
        return left.Equals(b);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "RestartWorker for {Container} requested by {Peer}: {Reason}")]
    private static partial void LogOperatorRestart(ILogger logger, string container, string reason, string peer);

    [LoggerMessage(Level = LogLevel.Information, Message = "Sleep requested by {Peer}: {Reason}")]
    private static partial void LogSleepRequested(ILogger logger, string reason, string peer);
}
