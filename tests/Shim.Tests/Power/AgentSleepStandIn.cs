using System.Collections.Concurrent;
using GpuSplit.Protos.V1;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace GpuSplit.Shim.Tests.Power;

/// <summary>
/// A real gRPC server (h2c on loopback) offering <c>gpusplit.v1.Agent/Sleep</c> with the answer the test sets, checking
/// the bearer token like the agent does and recording every request.
/// </summary>
public sealed class AgentSleepStandIn : IAsyncDisposable
{
    private readonly WebApplication _app;

    private AgentSleepStandIn(WebApplication app, State state)
    {
        _app = app;
        Shared = state;
    }

    public Uri Url { get; private set; } = null!;

    public string Token => Shared.Token;

    /// <summary>The reply to the next Sleep calls.</summary>
    public SleepReply Reply
    {
        get => Shared.Reply;
        set => Shared.Reply = value;
    }

    public IReadOnlyList<(string Reason, string? Authorization)> Requests => [.. Shared.Requests];

    private State Shared { get; }

    public static async Task<AgentSleepStandIn> StartAsync(string token, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.WebHost.ConfigureKestrel(k => k.ConfigureEndpointDefaults(e => e.Protocols = HttpProtocols.Http2));
        var state = new State(token);
        builder.Services.AddSingleton(state);
        builder.Services.AddGrpc();
        var app = builder.Build();
        app.MapGrpcService<Service>();
        await app.StartAsync(cancellationToken);
        var standIn = new AgentSleepStandIn(app, state) { Url = new Uri(app.Urls.Single()) };
        return standIn;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private sealed class State(string token)
    {
        public string Token { get; } = token;

        public SleepReply Reply { get; set; } = new() { Accepted = true, Message = "going to sleep" };

        public ConcurrentQueue<(string Reason, string? Authorization)> Requests { get; } = new();
    }

    private sealed class Service(State state) : Agent.AgentBase
    {
        public override Task<SleepReply> Sleep(SleepRequest request, ServerCallContext context)
        {
            var authorization = context.RequestHeaders.GetValue("authorization");
            state.Requests.Enqueue((request.Reason, authorization));
            if (authorization != $"Bearer {state.Token}")
            {
                throw new RpcException(new Grpc.Core.Status(StatusCode.Unauthenticated, "Sleep needs the agent's token: authorization: Bearer <token>"));
            }

            return Task.FromResult(state.Reply);
        }
    }
}
