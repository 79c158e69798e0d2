using System.Collections.Concurrent;
using GpuSplit.Protos.V1;
using Grpc.Core;
using Grpc.Net.Client;

namespace GpuSplit.Shim.Power;

/// <summary><c>gpusplit.v1.Agent/Sleep</c> over gRPC, with the box's bearer token; one channel per agent, kept.</summary>
public sealed class GrpcAgentPower(ILoggerFactory loggers) : IAgentPower, IDisposable
{
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(10);
    private readonly ConcurrentDictionary<Uri, GrpcChannel> _channels = new();

    public async Task<SleepAnswer> SleepAsync(BoxState box, string reason, CancellationToken cancellationToken)
    {
        if (box.Token is null)
        {
            return new SleepAnswer(false, $"no agent token configured for {box.Name} (Shim__Upstreams__{box.Index}__Token): the agent refuses Sleep without it");
        }

        var channel = _channels.GetOrAdd(box.Agent, agent => GrpcChannel.ForAddress(agent, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler { UseProxy = false, ConnectTimeout = TimeSpan.FromSeconds(3) },
            DisposeHttpClient = true,
            LoggerFactory = loggers,
        }));
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(CallTimeout);
        try
        {
            var reply = await new Agent.AgentClient(channel).SleepAsync(
                new SleepRequest { Reason = reason },
                new Metadata { { "authorization", $"Bearer {box.Token}" } },
                cancellationToken: timeout.Token);
            return new SleepAnswer(reply.Accepted, reply.Message);
        }
        catch (RpcException e) when (!cancellationToken.IsCancellationRequested)
        {
            return new SleepAnswer(false, e.StatusCode switch
            {
                StatusCode.Unimplemented => "this agent has no Sleep (an older version)",
                StatusCode.Cancelled => $"no answer from the agent within {CallTimeout.TotalSeconds:0} s",
                _ => $"{e.StatusCode}: {(string.IsNullOrEmpty(e.Status.Detail) ? e.Status.DebugException?.Message : e.Status.Detail)}",
            });
        }
    }

    public void Dispose()
    {
        foreach (var channel in _channels.Values)
        {
            channel.Dispose();
        }
    }
}
