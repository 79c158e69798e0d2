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
catch (IOException e) when (e.InnerException is Microsoft.AspNetCore.Connections.AddressInUseException || e.Message.Contains("bind", StringComparison.OrdinalIgnoreCase))
{
    await Console.Error.WriteLineAsync($"shim: cannot listen: {e.Message}");
    return 1;
}
