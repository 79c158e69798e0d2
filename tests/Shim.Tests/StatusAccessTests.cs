using System.Net;
using System.Net.Http.Headers;
using GpuSplit.Planner.Service;
using GpuSplit.Shim.Tests.Infrastructure;

namespace GpuSplit.Shim.Tests;

/// <summary>Shim:Status:Token keeps the pages that name the boxes' URLs private; Immich's endpoints stay open.</summary>
public sealed class StatusAccessTests
{
    private const string StatusToken = "st4tus-t0ken-9c1e";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Without_a_token_the_status_pages_are_open_and_name_the_boxes_urls()
    {
        await using var box = await GpuBox.StartAsync();
        await using var shim = await ShimUnderTest.StartAsync([box.Endpoints]);

        using var status = await shim.Client.GetAsync("/status.json", Ct);

        Assert.Equal(HttpStatusCode.OK, status.StatusCode);
        Assert.Contains(box.Agent.Address.Authority, await status.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/status")]
    [InlineData("/status/")]
    [InlineData("/STATUS.json")]
    [InlineData("/status.svg")]
    [InlineData("/metrics")]
    public async Task With_a_token_a_status_page_without_it_is_401_and_says_nothing_of_the_boxes(string path)
    {
        await using var box = await GpuBox.StartAsync();
        await using var shim = await ShimUnderTest.StartAsync([box.Endpoints], [("Status:Token", StatusToken)]);

        using var none = await shim.Client.GetAsync(path, Ct);
        using var wrong = await shim.Client.GetAsync($"{path}?token={StatusToken}x", Ct);

        foreach (var response in new[] { none, wrong })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
            var body = await response.Content.ReadAsStringAsync(Ct);
            Assert.DoesNotContain(box.Agent.Address.Authority, body, StringComparison.Ordinal);
            Assert.DoesNotContain(box.Ml.Address.Authority, body, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task With_a_token_the_status_pages_answer_a_bearer_header_or_the_query_and_the_page_keeps_it()
    {
        await using var box = await GpuBox.StartAsync();
        await using var shim = await ShimUnderTest.StartAsync([box.Endpoints], [("Status:Token", StatusToken)]);

        using var bearer = new HttpRequestMessage(HttpMethod.Get, "/status.json");
        bearer.Headers.Authorization = new AuthenticationHeaderValue("Bearer", StatusToken);
        using var json = await shim.Client.SendAsync(bearer, Ct);
        using var metrics = await shim.Client.GetAsync($"/metrics?token={StatusToken}", Ct);
        using var page = await shim.Client.GetAsync($"/status?token={StatusToken}", Ct);

        Assert.Equal(HttpStatusCode.OK, json.StatusCode);
        Assert.Contains(box.Agent.Address.Authority, await json.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, metrics.StatusCode);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        var html = await page.Content.ReadAsStringAsync(Ct);
        Assert.Contains($"href=\"status.json?token={StatusToken}\"", html, StringComparison.Ordinal);
        Assert.Contains($"href=\"metrics?token={StatusToken}\"", html, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_a_token_ping_and_the_ML_api_stay_open_for_Immich()
    {
        await using var box = await GpuBox.StartAsync();
        await using var shim = await ShimUnderTest.StartAsync([box.Endpoints], [("Status:Token", StatusToken)]);
        // The status helpers read /status.json, so they carry the token; Immich's calls below go without it.
        shim.Client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", StatusToken);
        await shim.WaitForStateAsync(0, "online");
        using var immich = ShimUnderTest.NewClient(shim.BaseAddress);

        using var ping = await immich.GetAsync("/ping", Ct);
        using var banner = await immich.GetAsync("/", Ct);
        using var job = await immich.SendAsync(ImmichPredictRequest.Job(JobKind.SmartSearch, PreviewJpeg.Small()), Ct);

        Assert.Equal(HttpStatusCode.OK, ping.StatusCode);
        Assert.Equal(HttpStatusCode.OK, banner.StatusCode);
        Assert.Equal(HttpStatusCode.OK, job.StatusCode);
        Assert.Single(box.Ml.Calls);
    }

    [Fact]
    public void A_status_token_with_spaces_is_refused_at_start_with_one_line()
    {
        var e = Assert.Throws<ShimConfigurationException>(() => ShimApplication.Build(
            ["--Shim:Upstreams:0:Url=http://127.0.0.1:1", "--Shim:Upstreams:0:Agent=http://127.0.0.1:2", "--Shim:Status:Token=two words"]));

        Assert.Contains("Shim:Status:Token", e.Message, StringComparison.Ordinal);
    }
}
