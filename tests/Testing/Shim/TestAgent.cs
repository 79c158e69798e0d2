using System.Net;
using System.Threading.Channels;
using GpuSplit.Protos.V1;
using Grpc.Core;
using Grpc.Health.V1;
using Grpc.HealthCheck;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace GpuSplit.Testing.Shim;

/// <summary>
/// A real gRPC server on loopback implementing the agent's contract (gpusplit.v1.Agent and grpc.health.v1),
/// whose state the test sets: the agent branch is written in parallel, and some states (an unsupported
/// GPU, a crash loop) are hard to put a real agent in.
/// </summary>
public sealed class TestAgent : IAsyncDisposable
{
    public const ulong GiB = 1024UL * 1024 * 1024;

    private readonly WebApplication _app;

    private TestAgent(WebApplication app, HealthServiceImpl health, AgentService agent)
    {
        _app = app;
        HealthService = health;
        Service = agent;
        Address = new Uri(app.Urls.Single());
    }

    public Uri Address { get; }

    public HealthServiceImpl HealthService { get; }

    public AgentService Service { get; }

    /// <param name="port">0 for any free port; a given port lets a test bring an "asleep" box's agent up where the shim looks for it.</param>
    public static async Task<TestAgent> StartAsync(CancellationToken cancellationToken, int port = 0)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port, o => o.Protocols = HttpProtocols.Http2));
        var health = new HealthServiceImpl();
        var agent = new AgentService();
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(health);
        builder.Services.AddSingleton(agent);
        var app = builder.Build();
        app.MapGrpcService<HealthServiceImpl>();
        app.MapGrpcService<AgentService>();
        await app.StartAsync(cancellationToken);
        return new TestAgent(app, health, agent);
    }

    /// <summary>Healthy: worker running, a GTX 1060 with the given free memory.</summary>
    public void Serve(ulong freeBytes = 4 * GiB)
    {
        Service.Publish(Status(true, "", WorkerState.Running, freeBytes));
        HealthService.SetStatus("", HealthCheckResponse.Types.ServingStatus.Serving);
    }

    public void NotServing(WorkerState state, string reason)
    {
        HealthService.SetStatus("", HealthCheckResponse.Types.ServingStatus.NotServing);
        Service.Publish(Status(false, reason, state, 0));
    }

    public static AgentStatus Status(bool serving, string reason, WorkerState state, ulong freeBytes)
    {
        const ulong total = 6 * GiB;
        return new AgentStatus
        {
            ObservedAt = Google.Protobuf.WellKnownTypes.Timestamp.FromDateTimeOffset(DateTimeOffset.UtcNow),
            Serving = serving,
            NotServingReason = reason,
            AgentVersion = "test",
            Gpu = new GpuReadout
            {
                Available = true,
                Gpus =
                {
                    new Gpu
                    {
                        Index = 0,
                        Name = "NVIDIA GeForce GTX 1060 6GB",
                        MemoryTotalBytes = total,
                        MemoryFreeBytes = freeBytes,
                        MemoryUsedBytes = total - freeBytes,
                    },
                },
            },
            Worker = new WorkerStatus { Container = "immich_machine_learning", State = state, PingOk = serving, RestartCount = 2 },
        };
    }

    public async ValueTask DisposeAsync()
    {
        Service.Complete();
        // An already-cancelled token aborts open watch streams at once, as a box losing power would.
        await _app.StopAsync(new CancellationToken(canceled: true));
        await _app.DisposeAsync();
    }

    /// <summary>The gpusplit.v1.Agent service: streams the last published status to every watcher.</summary>
    public sealed class AgentService : GpuSplit.Protos.V1.Agent.AgentBase
    {
        private readonly Lock _gate = new();
        private readonly List<Channel<AgentStatus>> _watchers = [];
        private AgentStatus _current = Status(false, "starting", WorkerState.Starting, 0);
        private readonly CancellationTokenSource _stopped = new();

        /// <summary>
        /// While set, status watches hear nothing, though their connection stays open: an agent whose box froze, or
        /// one that breaks its heartbeat promise.
        /// </summary>
        public bool Silent { get; set; }

        /// <summary>The authorization header of every call, in order.</summary>
        public List<string> Authorizations { get; } = [];

        /// <summary>When set, Sleep demands <c>authorization: Bearer</c> this, as the agent does.</summary>
        public string? Token { get; set; }

        /// <summary>The answer to Sleep calls that carry the token.</summary>
        public SleepReply SleepReply { get; set; } = new() { Accepted = true, Message = "going to sleep in 2 s" };

        /// <summary>The reason of every Sleep call, in order, refused ones included.</summary>
        public List<string> SleepRequests { get; } = [];

        public void Publish(AgentStatus status)
        {
            lock (_gate)
            {
                _current = status;
                foreach (var watcher in _watchers)
                {
                    watcher.Writer.TryWrite(status);
                }
            }
        }

        public void Complete() => _stopped.Cancel();

        public override Task<AgentStatus> GetStatus(GetStatusRequest request, ServerCallContext context)
        {
            Record(context);
            lock (_gate)
            {
                return Task.FromResult(_current);
            }
        }

        public override async Task WatchStatus(WatchStatusRequest request, IServerStreamWriter<AgentStatus> responseStream, ServerCallContext context)
        {
            Record(context);
            var channel = Channel.CreateUnbounded<AgentStatus>();
            lock (_gate)
            {
                channel.Writer.TryWrite(_current);
                _watchers.Add(channel);
            }

            using var done = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, _stopped.Token);
            try
            {
                await foreach (var status in channel.Reader.ReadAllAsync(done.Token))
                {
                    if (!Silent)
                    {
                        await responseStream.WriteAsync(status, done.Token);
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
            finally
            {
                lock (_gate)
                {
                    _watchers.Remove(channel);
                }
            }
        }

        public override Task<RestartWorkerReply> RestartWorker(RestartWorkerRequest request, ServerCallContext context) =>
            throw new RpcException(new global::Grpc.Core.Status(StatusCode.Unimplemented, "not part of the shim's tests"));

        public override Task<SleepReply> Sleep(SleepRequest request, ServerCallContext context)
        {
            Record(context);
            lock (_gate)
            {
                SleepRequests.Add(request.Reason);
            }

            if (Token is not null && context.RequestHeaders.GetValue("authorization") != $"Bearer {Token}")
            {
                throw new RpcException(new global::Grpc.Core.Status(StatusCode.Unauthenticated, "Sleep needs the agent's token: authorization: Bearer <token>"));
            }

            return Task.FromResult(SleepReply);
        }

        private void Record(ServerCallContext context)
        {
            lock (_gate)
            {
                Authorizations.Add(context.RequestHeaders.GetValue("authorization") ?? "");
            }
        }
    }
}
