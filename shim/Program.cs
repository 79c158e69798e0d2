using GpuSplit.Shim;

try
{
    await ShimApplication.Build(args).RunAsync();
    return 0;
}
catch (ShimConfigurationException e)
{
    await Console.Error.WriteLineAsync($"shim: configuration: {e.Message}");
    return 2;
}
catch (IOException e) when (e.InnerException is System.Net.Sockets.SocketException or Microsoft.AspNetCore.Connections.AddressInUseException)
{
    // Kestrel's "Failed to bind to address ...: address already in use." (or permission denied).
    await Console.Error.WriteLineAsync($"shim: cannot listen: {e.Message}");
    return 1;
}
