using Grpc.Health.V1;
using Grpc.Net.Client;

namespace GpuSplit.Agent.Health;

/// <summary>
/// <c>agent probe [address] [service]</c>: calls grpc.health.v1.Health/Check like grpc_health_probe and exits 0 when
/// SERVING, 1 otherwise, printing the status. The image's HEALTHCHECK, without another binary in it.
/// </summary>
public static class HealthProbeCommand
{
    public static async Task<int> RunAsync(string[] args)
    {
        var address = args.Length > 0 ? args[0] : "http://127.0.0.1:3004";
        var service = args.Length > 1 ? args[1] : "";
        if (!Uri.TryCreate(address, UriKind.Absolute, out var uri) || uri.Scheme != Uri.UriSchemeHttp)
        {
            await Console.Error.WriteLineAsync($"agent probe: '{address}' is not an address like http://127.0.0.1:3004");
            return 2;
        }

        using var channel = GrpcChannel.ForAddress(uri);
        var client = new global::Grpc.Health.V1.Health.HealthClient(channel);
        try
        {
            var reply = await client.CheckAsync(new HealthCheckRequest { Service = service }, deadline: DateTime.UtcNow.AddSeconds(5));
            Console.WriteLine($"status: {reply.Status}");
            return reply.Status == HealthCheckResponse.Types.ServingStatus.Serving ? 0 : 1;
        }
        catch (global::Grpc.Core.RpcException error)
        {
            await Console.Error.WriteLineAsync($"agent probe: {address}: {error.Status.StatusCode} {error.Status.Detail}");
            return 1;
        }
    }
}
