using GpuSplit.Shim.Immich;
using GpuSplit.Shim.Power;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace GpuSplit.Shim.Tests.Power;

/// <summary>Start-up with the power settings: a bad value stops the host with a message naming the key.</summary>
public sealed class PowerConfigurationTests
{
    [Theory]
    [InlineData("aa:bb:cc:dd:ee", "Shim:Upstreams:0:Wake:Mac 'aa:bb:cc:dd:ee' is not a MAC address: write it as aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff or aabbccddeeff")]
    [InlineData("gateway", "Shim:Upstreams:0:Wake:Mac 'gateway' is not a MAC address: write it as aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff or aabbccddeeff")]
    [InlineData(" ", "Shim:Upstreams:0:Wake:Mac is missing: the GPU box's MAC address (aa:bb:cc:dd:ee:ff, aa-bb-cc-dd-ee-ff or aabbccddeeff)")]
    public async Task A_bad_mac_stops_start_up_with_one_clear_line(string mac, string message)
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => StartAsync(new() { ["Shim__Upstreams__0__Wake__Mac"] = mac }));

        Assert.Equal(message, error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public async Task A_bad_address_and_port_are_named_too()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => StartAsync(new()
        {
            ["Shim__Upstreams__0__Url"] = "http://gpu-box:3003",
            ["Shim__Upstreams__1__Url"] = "http://second-box:3003",
            ["Shim__Upstreams__1__Wake__Mac"] = "aa:bb:cc:dd:ee:ff",
            ["Shim__Upstreams__1__Wake__Address"] = "gpu-box.lan",
            ["Shim__Upstreams__1__Wake__Port"] = "70000",
        }));

        Assert.Contains("Shim:Upstreams:1:Wake:Address 'gpu-box.lan' is not an IP address", error.Message, StringComparison.Ordinal);
        Assert.Contains("Shim:Upstreams:1:Wake:Port 70000 is not a UDP port", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Environment_keys_bind_with_the_broadcast_defaults()
    {
        using var host = await StartAsync(new()
        {
            ["Shim__Upstreams__0__Url"] = "http://gpu-box:3003",
            ["Shim__Upstreams__0__Wake__Mac"] = "AA-BB-CC-DD-EE-FF",
            ["Shim__Upstreams__1__Url"] = "http://second-box:3003",
            ["Shim__Upstreams__1__Wake__Mac"] = "aabbccddee01",
            ["Shim__Upstreams__1__Wake__Address"] = "192.168.1.255",
            ["Shim__Upstreams__1__Wake__Port"] = "7",
        });

        var wake = host.Services.GetRequiredService<IOptions<WakeOnLanOptions>>().Value;
        Assert.Equal("aa:bb:cc:dd:ee:ff via 255.255.255.255:9", WakeTarget.From(wake.Upstreams[0].Wake!).ToString());
        Assert.Equal("aa:bb:cc:dd:ee:01 via 192.168.1.255:7", WakeTarget.From(wake.Upstreams[1].Wake!).ToString());
        Assert.False(host.Services.GetRequiredService<IImmichApi>().Enabled);
    }

    [Fact]
    public async Task An_api_key_without_a_server_url_is_refused()
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => StartAsync(new() { ["Shim__Immich__ApiKey"] = "secret" }));

        Assert.Equal("Shim:Immich:Url is missing: the Immich server the API key belongs to, e.g. http://immich-server:2283", error.Message);
    }

    [Theory]
    [InlineData("Shim__Power__QuietHours__Start", "23:00", "Shim:Power:QuietHours needs both Start and End (local times like 23:00 and 07:00), or neither")]
    [InlineData("Shim__Power__WakeInterval", "60", "Shim:Power:WakeInterval must be a duration between 0 and one day, written like 00:01:00 (it is 60.00:00:00)")]
    [InlineData("Shim__Power__BacklogThreshold", "0", "Shim:Power:BacklogThreshold must be 1 or more jobs (it is 0)")]
    public async Task Power_settings_are_checked(string key, string value, string message)
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => StartAsync(new() { [key] = value }));

        Assert.Equal(message, error.Message);
    }

    // The keys as environment variables spell them; the environment provider turns __ into the section separator.
    private static async Task<IHost> StartAsync(Dictionary<string, string?> environment)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(environment.Select(e => KeyValuePair.Create(e.Key.Replace("__", ":", StringComparison.Ordinal), e.Value)));
        builder.Services.AddPower(builder.Configuration);
        var host = builder.Build();
        try
        {
            await host.StartAsync(TestContext.Current.CancellationToken);
            return host;
        }
        catch
        {
            host.Dispose();
            throw;
        }
    }
}
