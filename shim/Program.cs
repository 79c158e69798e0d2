using GpuSplit.Shim;

// Socket completions run on the socket engine's own thread instead of being queued to the thread pool, and there is
// one such thread, as nginx runs one worker: with Kestrel's inline scheduling (ShimApplication) a request is carried from
// its client's socket to the box's answer on that one thread, without a hop or a second thread woken for the box's
// side (docs/shim.md, "Resources"). The runtime reads these only from the environment, when the first socket is used;
// an operator's own values win.
foreach (var (name, value) in ShimApplication.SocketEngineSettings)
{
    if (Environment.GetEnvironmentVariable(name) is null)
    {
        Environment.SetEnvironmentVariable(name, value);
    }
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
