using GpuSplit.Agent.Hosting;
using Microsoft.Extensions.Options;

// The agent on the GPU box: watches NVML and the ML container, restarts it when that helps, serves health.
// `agent probe [address] [service]` is the container's HEALTHCHECK: a gRPC health client, exit 0 when SERVING.
if (args is ["probe", ..])
{
    return await GpuSplit.Agent.Health.HealthProbeCommand.RunAsync(args[1..]);
}

try
{
    var app = AgentHost.Build(args);
    await app.RunAsync();
    return 0;
}
catch (Exception error) when (error is AgentConfigurationException or OptionsValidationException)
{
    await Console.Error.WriteLineAsync($"agent: {error.Message}");
    return 2;
}
catch (IOException error) when (error.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException or System.Net.Sockets.SocketException)
{
    // Kestrel's "Failed to bind to address http://0.0.0.0:3004: address already in use."
    await Console.Error.WriteLineAsync($"agent: {error.Message}");
    return 2;
}
