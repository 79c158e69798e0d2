namespace GpuSplit.Shim.Power;

/// <summary>
/// The Wake-on-LAN view of the <c>Shim</c> section: for each GPU box (<c>Shim:Upstreams:N</c>, the same list the
/// proxy reads) how to wake it. A box without <c>Wake:Mac</c> is never woken.
/// </summary>
public sealed class WakeOnLanOptions
{
    public const string Section = "Shim";

    public List<UpstreamWakeOptions> Upstreams { get; set; } = [];
}

public sealed class UpstreamWakeOptions
{
    public WakeOptions? Wake { get; set; }
}

/// <summary>Where the magic packet for one box goes.</summary>
public sealed class WakeOptions
{
    /// <summary>The GPU box's network card, e.g. <c>aa:bb:cc:dd:ee:ff</c>.</summary>
    public string? Mac { get; set; }

    /// <summary>
    /// The broadcast address of the box's network (a sleeping box has no IP address of its own to send to);
    /// a subnet's directed broadcast such as 192.168.1.255 where the limited broadcast does not reach.
    /// </summary>
    public string Address { get; set; } = "255.255.255.255";

    /// <summary>UDP port; 9 (discard) is the convention, 7 the other common one.</summary>
    public int Port { get; set; } = 9;
}
