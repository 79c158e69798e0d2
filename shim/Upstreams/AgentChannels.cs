using GpuSplit.Shim.Configuration;
using Grpc.Net.Client;

namespace GpuSplit.Shim.Upstreams;

/// <summary>The gRPC channel to one agent, tuned to notice a box that vanishes without a word.</summary>
public static class AgentChannels
{
    public static GrpcChannel Create(Uri agent, AgentWatchOptions options, ILoggerFactory loggers) =>
        GrpcChannel.ForAddress(agent, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                ConnectTimeout = options.ConnectTimeout,
                // A sleeping box sends no reset: only an unanswered ping ends a watch stream to it.
                KeepAlivePingDelay = options.KeepAliveInterval,
                KeepAlivePingTimeout = options.KeepAliveTimeout,
                KeepAlivePingPolicy = HttpKeepAlivePingPolicy.Always,
                UseProxy = false,
                EnableMultipleHttp2Connections = true,
            },
            DisposeHttpClient = true,
            LoggerFactory = loggers,
        });
}
