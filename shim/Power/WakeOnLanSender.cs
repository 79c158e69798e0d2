using System.Net.Sockets;

namespace GpuSplit.Shim.Power;

/// <summary>Wake-on-LAN over UDP. A packet that left is all UDP can confirm; the agent appearing is the real answer.</summary>
public sealed partial class WakeOnLanSender(TimeProvider time, ILogger<WakeOnLanSender> logger) : IWakeOnLan
{
    public async ValueTask<WakeResult> WakeAsync(WakeTarget target, CancellationToken cancellationToken)
    {
        var packet = MagicPacket.For(target.Mac);
        try
        {
            using var udp = new UdpClient(target.Destination.AddressFamily);
            // Without this the kernel refuses to send to a broadcast address (EACCES).
            udp.EnableBroadcast = true;
            await udp.SendAsync(packet, target.Destination, cancellationToken);
            LogSent(logger, target.Mac.ToString(), target.Destination.ToString());
            return new WakeResult(target, time.GetUtcNow(), null);
        }
        catch (SocketException e)
        {
            LogFailed(logger, target.Mac.ToString(), target.Destination.ToString(), e.Message);
            return new WakeResult(target, time.GetUtcNow(), e.Message);
        }
    }

    [LoggerMessage(EventId = 700, Level = LogLevel.Information, Message = "Wake-on-LAN packet for {Mac} sent to {Destination}")]
    private static partial void LogSent(ILogger logger, string mac, string destination);

    [LoggerMessage(EventId = 701, Level = LogLevel.Warning, Message = "Wake-on-LAN packet for {Mac} to {Destination} could not be sent: {Error}")]
    private static partial void LogFailed(ILogger logger, string mac, string destination, string error);
}
