using GpuSplit.Shim;

// Socket completions run on the socket engine's own threads instead of being queued to the thread pool: with Kestrel's
// inline scheduling (ShimApplication) a request is carried from its socket's event to the box's answer without a thread
// hop. The runtime reads this only from the environment, when the first socket is used; an operator's own value wins.
if (Environment.GetEnvironmentVariable(ShimApplication.InlineSocketCompletions) is null)
{
    Environment.SetEnvironmentVariable(ShimApplication.InlineSocketCompletions, "1");
}

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
