namespace GpuSplit.Shim.Power;

/// <summary>Sends the magic packet that wakes one GPU box.</summary>
public interface IWakeOnLan
{
    /// <summary>Never throws for a network failure: the result says what went wrong, for the status page.</summary>
    ValueTask<WakeResult> WakeAsync(WakeTarget target, CancellationToken cancellationToken);
}

/// <summary>A validated wake configuration.</summary>
public sealed record WakeTarget(MacAddress Mac, System.Net.IPEndPoint Destination)
{
    /// <summary>Only for options that passed <see cref="WakeOptionsValidator"/>.</summary>
    public static WakeTarget From(WakeOptions options)
    {
        if (!MacAddress.TryParse(options.Mac, out var mac))
        {
            throw new ArgumentException($"not a MAC address: '{options.Mac}'", nameof(options));
        }

        return new WakeTarget(mac, new System.Net.IPEndPoint(System.Net.IPAddress.Parse(options.Address), options.Port));
    }

    public override string ToString() => $"{Mac} via {Destination}";
}

/// <param name="Error">Null when the packet left this machine.</param>
public sealed record WakeResult(WakeTarget Target, DateTimeOffset At, string? Error)
{
    public bool Sent => Error is null;
}
