namespace GpuSplit.Shim.Power;

/// <summary>The Wake-on-LAN "magic packet": six 0xFF bytes, then the card's MAC address sixteen times.</summary>
public static class MagicPacket
{
    public const int Length = 6 + (16 * 6);

    public static byte[] For(MacAddress mac)
    {
        var packet = new byte[Length];
        packet.AsSpan(0, 6).Fill(0xFF);
        var address = mac.GetBytes();
        for (var i = 0; i < 16; i++)
        {
            address.CopyTo(packet, 6 + (i * 6));
        }

        return packet;
    }
}
