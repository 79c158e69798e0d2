using System.Net;
using System.Net.Sockets;
using GpuSplit.Shim.Power;
using Microsoft.Extensions.Logging.Abstractions;

namespace GpuSplit.Shim.Tests.Power;

/// <summary>The magic packet as a UDP listener on loopback receives it.</summary>
public sealed class WakeOnLanTests
{
    private static readonly TimeSpan ReceiveTimeout = TimeSpan.FromSeconds(10);

    [Theory]
    [InlineData("1c:1b:0d:9a:4e:f2")]
    [InlineData("1C-1B-0D-9A-4E-F2")]
    [InlineData("1c1b0d9a4ef2")]
    public async Task The_listener_receives_six_ff_bytes_then_the_mac_sixteen_times(string mac)
    {
        using var listener = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var port = ((IPEndPoint)listener.Client.LocalEndPoint!).Port;
        var sender = new WakeOnLanSender(TimeProvider.System, NullLogger<WakeOnLanSender>.Instance);
        var target = WakeTarget.From(new WakeOptions { Mac = mac, Address = "127.0.0.1", Port = port });

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(ReceiveTimeout);
        var receive = listener.ReceiveAsync(timeout.Token);
        var result = await sender.WakeAsync(target, timeout.Token);
        var datagram = await receive;

        Assert.True(result.Sent, result.Error);
        byte[] expected =
        [
            0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
            .. Enumerable.Repeat<byte[]>([0x1C, 0x1B, 0x0D, 0x9A, 0x4E, 0xF2], 16).SelectMany(b => b),
        ];
        Assert.Equal(102, datagram.Buffer.Length);
        Assert.Equal(expected, datagram.Buffer);
        Assert.Equal("1c:1b:0d:9a:4e:f2 via 127.0.0.1:" + port, target.ToString());
    }

    [Fact]
    public async Task A_failed_send_is_a_result_not_an_exception()
    {
        // Port 0 is not a destination: the kernel refuses the send at once, nothing leaves the machine.
        var sender = new WakeOnLanSender(TimeProvider.System, NullLogger<WakeOnLanSender>.Instance);
        var target = WakeTarget.From(new WakeOptions { Mac = "1c:1b:0d:9a:4e:f2", Address = "127.0.0.1", Port = 9 }) with
        {
            Destination = new IPEndPoint(IPAddress.Loopback, 0),
        };

        var result = await sender.WakeAsync(target, TestContext.Current.CancellationToken);

        Assert.False(result.Sent);
        Assert.False(string.IsNullOrWhiteSpace(result.Error));
    }

    [Theory]
    [InlineData("1c:1b:0d:9a:4e")]
    [InlineData("1c:1b:0d:9a:4e:f2:00")]
    [InlineData("1c:1b-0d:9a:4e:f2")]
    [InlineData("1c:1b:0d:9a:4e:g2")]
    [InlineData("1c1b0d9a4ef")]
    [InlineData("1c.1b.0d.9a.4e.f2")]
    [InlineData("1c:1b:0d:9a:4e:+2")]
    public void Misspelt_macs_are_not_parsed(string mac) => Assert.False(MacAddress.TryParse(mac, out _));

    [Fact]
    public void The_three_spellings_are_the_same_address()
    {
        Assert.True(MacAddress.TryParse("aa:bb:cc:dd:ee:ff", out var colons));
        Assert.True(MacAddress.TryParse("AA-BB-CC-DD-EE-FF", out var dashes));
        Assert.True(MacAddress.TryParse(" aabbccddeeff ", out var bare));
        Assert.Equal(colons, dashes);
        Assert.Equal(colons, bare);
        Assert.Equal([0xAA, 0xBB, 0xCC, 0xDD, 0xEE, 0xFF], colons.GetBytes());
    }
}
