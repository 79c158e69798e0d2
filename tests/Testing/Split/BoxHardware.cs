using System.Net;
using System.Net.Sockets;

namespace GpuSplit.Testing.Split;

/// <summary>
/// The GPU box's hardware in the power-loop tests: a network card that listens for Wake-on-LAN (UDP on loopback) and
/// powers the box on when a magic packet for its MAC arrives, and a power supply that switches the box off when its
/// agent's sleep command leaves its marker file. Both act on the <see cref="SplitRig"/> given to <see cref="Attach"/>;
/// the test only decides how long a boot takes (<see cref="HoldBoot"/>).
/// </summary>
public sealed class BoxHardware : IAsyncDisposable
{
    private readonly UdpClient _listener;
    private readonly byte[] _mac;
    private readonly CancellationTokenSource _stop = new();
    private readonly List<byte[]> _packets = [];
    private readonly List<string> _sleeps = [];
    private TaskCompletionSource _boot = Released();
    private Task _running = Task.CompletedTask;

    private BoxHardware(UdpClient listener, byte[] mac)
    {
        _listener = listener;
        _mac = mac;
    }

    /// <summary>The UDP port the shim sends its magic packets to (on 127.0.0.1).</summary>
    public int Port => ((IPEndPoint)_listener.Client.LocalEndPoint!).Port;

    /// <summary>Every datagram received, in order, magic or not.</summary>
    public IReadOnlyList<byte[]> Packets
    {
        get
        {
            lock (_packets)
            {
                return [.. _packets];
            }
        }
    }

    /// <summary>What the agent's sleep command wrote each time it switched the box off.</summary>
    public IReadOnlyList<string> Sleeps
    {
        get
        {
            lock (_sleeps)
            {
                return [.. _sleeps];
            }
        }
    }

    /// <summary>How many times a magic packet powered the box on.</summary>
    public int Boots { get; private set; }

    /// <param name="mac">The box's MAC, as the shim is configured with it.</param>
    public static BoxHardware Listen(string mac) =>
        new(new UdpClient(new IPEndPoint(IPAddress.Loopback, 0)), [.. mac.Split(':').Select(h => Convert.ToByte(h, 16))]);

    /// <summary>Starts acting on <paramref name="rig"/>: waking on magic packets, powering off at <paramref name="marker"/>.</summary>
    public void Attach(SplitRig rig, string marker) =>
        _running = Task.WhenAll(WakeOnLanAsync(rig, _stop.Token), PowerSupplyAsync(rig, marker, _stop.Token));

    /// <summary>
    /// Until <see cref="FinishBoot"/>, a magic packet starts a boot that does not end: a slow BIOS, or disks spinning
    /// up, while held jobs run out of time.
    /// </summary>
    public void HoldBoot() => Interlocked.Exchange(ref _boot, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

    public void FinishBoot() => Volatile.Read(ref _boot).TrySetResult();

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        FinishBoot();
        _listener.Dispose();
        try
        {
            await _running;
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }

        _stop.Dispose();
    }

    private async Task WakeOnLanAsync(SplitRig rig, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            var datagram = (await _listener.ReceiveAsync(stop)).Buffer;
            lock (_packets)
            {
                _packets.Add(datagram);
            }

            if (rig.PoweredOn || !IsMagicPacketForMe(datagram))
            {
                continue;
            }

            await Volatile.Read(ref _boot).Task.WaitAsync(stop);
            if (!rig.PoweredOn)
            {
                await rig.PowerOnAsync(stop);
                Boots++;
            }
        }
    }

    private async Task PowerSupplyAsync(SplitRig rig, string marker, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            if (File.Exists(marker))
            {
                var written = await File.ReadAllTextAsync(marker, stop);
                File.Delete(marker);
                await rig.PowerOffAsync(stop);
                lock (_sleeps)
                {
                    _sleeps.Add(written.Trim());
                }
            }

            await Task.Delay(TimeSpan.FromMilliseconds(100), stop);
        }
    }

    /// <summary>Six 0xFF bytes, then the MAC sixteen times: what a network card's Wake-on-LAN logic matches.</summary>
    private bool IsMagicPacketForMe(byte[] datagram) =>
        datagram.Length >= 102
        && datagram.AsSpan(0, 6).IndexOfAnyExcept((byte)0xFF) < 0
        && Enumerable.Range(0, 16).All(i => datagram.AsSpan(6 + (i * 6), 6).SequenceEqual(_mac));

    private static TaskCompletionSource Released()
    {
        var released = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        released.SetResult();
        return released;
    }
}
