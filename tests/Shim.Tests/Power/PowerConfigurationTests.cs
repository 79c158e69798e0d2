using GpuSplit.Shim.Immich;
using GpuSplit.Shim.Power;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace GpuSplit.Shim.Tests.Power;

/// <summary>The power settings as the shim reads them at start-up: a bad value is refused with a message naming the key.</summary>
public sealed class PowerConfigurationTests
{
    private static readonly string[] OneBox = ["Shim__Upstreams__0__Url=http://gpu-box:3003", "Shim__Upstreams__0__Agent=http://gpu-box:3004"];

    [Theory]
    [InlineData("aa:bb:cc:dd:ee", "Shim:Upstreams:0:Wake:Mac 'aa:bb:cc:dd:ee' is not a MAC address: write it as aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff or aabbccddeeff")]
    [InlineData("gateway", "Shim:Upstreams:0:Wake:Mac 'gateway' is not a MAC address: write it as aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff or aabbccddeeff")]
    [InlineData(" ", "Shim:Upstreams:0:Wake:Mac is missing: the GPU box's MAC address (aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff or aabbccddeeff)")]
    public void A_bad_mac_is_refused_with_one_clear_line(string mac, string message)
    {
        var error = Assert.Throws<ShimConfigurationException>(() => Build([.. OneBox, $"Shim__Upstreams__0__Wake__Mac={mac}"]));

        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void A_bad_address_and_port_are_named_too()
    {
        var error = Assert.Throws<ShimConfigurationException>(() => Build(
        [
            .. OneBox,
            "Shim__Upstreams__1__Url=http://second-box:3003",
            "Shim__Upstreams__1__Agent=http://second-box:3004",
            "Shim__Upstreams__1__Wake__Mac=aa:bb:cc:dd:ee:ff",
            "Shim__Upstreams__1__Wake__Address=gpu-box.lan",
            "Shim__Upstreams__1__Wake__Port=70000",
        ]));

        Assert.Contains("Shim:Upstreams:1:Wake:Address 'gpu-box.lan' is not an IP address", error.Message, StringComparison.Ordinal);
        Assert.Contains("Shim:Upstreams:1:Wake:Port 70000 is not a UDP port", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Environment_keys_bind_with_the_broadcast_defaults()
    {
        await using var app = Build(
        [
            .. OneBox,
            "Shim__Upstreams__0__Wake__Mac=AA-BB-CC-DD-EE-FF",
            "Shim__Upstreams__1__Url=http://second-box:3003",
            "Shim__Upstreams__1__Agent=http://second-box:3004",
            "Shim__Upstreams__1__Wake__Mac=aabbccddee01",
            "Shim__Upstreams__1__Wake__Address=192.168.1.255",
            "Shim__Upstreams__1__Wake__Port=7",
        ]);

        var wake = app.Services.GetRequiredService<IOptions<WakeOnLanOptions>>().Value;
        Assert.Equal("aa:bb:cc:dd:ee:ff via 255.255.255.255:9", WakeTarget.From(wake.Upstreams[0].Wake!).ToString());
        Assert.Equal("aa:bb:cc:dd:ee:01 via 192.168.1.255:7", WakeTarget.From(wake.Upstreams[1].Wake!).ToString());
        Assert.False(app.Services.GetRequiredService<IImmichApi>().Enabled);
    }

    [Fact]
    public void An_api_key_without_a_server_url_is_refused()
    {
        var error = Assert.Throws<ShimConfigurationException>(() => Build([.. OneBox, "Shim__Immich__ApiKey=secret"]));

        Assert.Equal("Shim:Immich:Url is missing: the Immich server the API key belongs to, e.g. http://immich-server:2283", error.Message);
    }

    [Theory]
    [InlineData("Shim__Power__QuietHours__Start=23:00", "Shim:Power:QuietHours needs both Start and End (local times like 23:00 and 07:00), or neither")]
    [InlineData("Shim__Power__WakeInterval=60", "Shim:Power:WakeInterval must be a duration between 0 and one day, written like 00:01:00 (it is 60.00:00:00)")]
    [InlineData("Shim__Power__BacklogThreshold=0", "Shim:Power:BacklogThreshold must be 1 or more jobs (it is 0)")]
    public void Power_settings_are_checked(string setting, string message)
    {
        var error = Assert.Throws<ShimConfigurationException>(() => Build([.. OneBox, setting]));

        Assert.Equal(message, error.Message);
    }

    // The keys as environment variables spell them (Shim__A__B); on the command line the same keys read Shim:A:B.
    private static Microsoft.AspNetCore.Builder.WebApplication Build(string[] environment) =>
        ShimApplication.Build(["--urls=http://127.0.0.1:0", .. environment.Select(e => "--" + e.Replace("__", ":", StringComparison.Ordinal))]);
}
