using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using GpuSplit.Planner.Service;
using GpuSplit.Shim.Tests.Infrastructure;

namespace GpuSplit.Shim.Tests;

/// <summary>No open proxy, bounded bodies, honest 4xx for requests that are not Immich's.</summary>
public sealed class SafetyTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_CONNECT_request_is_refused()
    {
        await using var box = await GpuBox.StartAsync();
        await using var shim = await ShimUnderTest.StartAsync([box.Endpoints]);

        var head = await RawHttp.SendAsync(shim.BaseAddress, "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n");

        Assert.StartsWith("HTTP/1.1 405 ", head, StringComparison.Ordinal);
        Assert.Equal(1, await shim.MetricAsync("""shim_decisions_total{kind="unclassified",decision="reject",reason="connect-refused"}"""));
    }

    [Fact]
    public async Task An_absolute_form_request_is_refused_and_never_forwarded()
    {
        await using var box = await GpuBox.StartAsync();
        await using var shim = await ShimUnderTest.StartAsync([box.Endpoints]);
        await shim.WaitForStateAsync(0, "online");

        var head = await RawHttp.SendAsync(shim.BaseAddress, $"GET {box.Ml.Address}ping HTTP/1.1\r\nHost: {box.Ml.Address.Authority}\r\n\r\n");

        Assert.StartsWith("HTTP/1.1 400 ", head, StringComparison.Ordinal);
        Assert.Equal(1, await shim.MetricAsync("""shim_decisions_total{kind="unclassified",decision="reject",reason="absolute-form-refused"}"""));
    }

    [Fact]
    public async Task A_body_announced_over_64_MiB_is_refused_with_413_before_any_box_sees_it()
    {
        await using var box = await GpuBox.StartAsync();
        await using var shim = await ShimUnderTest.StartAsync([box.Endpoints]);
        await shim.WaitForStateAsync(0, "online");
        const long tooBig = (64L * 1024 * 1024) + 1;
        var start = Encoding.ASCII.GetBytes($"--b\r\nContent-Disposition: form-data; name=\"entries\"\r\n\r\n{ImmichPredictRequest.SmartSearchEntries}\r\n");

        var head = await RawHttp.SendAsync(shim.BaseAddress,
            $"POST /predict HTTP/1.1\r\nHost: shim\r\nContent-Type: multipart/form-data; boundary=b\r\nContent-Length: {tooBig}\r\n\r\n", start);

        Assert.StartsWith("HTTP/1.1 413 ", head, StringComparison.Ordinal);
        Assert.Empty(box.Ml.Calls);
        Assert.Equal(1, await shim.MetricAsync("""shim_decisions_total{kind="unclassified",decision="reject",reason="too-large"}"""));
    }

    [Fact]
    public async Task A_chunked_body_that_grows_past_the_limit_is_not_answered_with_success()
    {
        await using var box = await GpuBox.StartAsync();
        await using var shim = await ShimUnderTest.StartAsync([box.Endpoints], [("MaxRequestBodyBytes", (1024 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture))]);
        await shim.WaitForStateAsync(0, "online");
        var form = ImmichPredictRequest.FormBytes("b", ImmichPredictRequest.SmartSearchEntries, new byte[2 * 1024 * 1024], null);
        // StreamContent over a non-seekable stream has no length, so HttpClient sends it chunked.
        using var content = new StreamContent(new NonSeekable(form));
        content.Headers.ContentType = MediaTypeHeaderValue.Parse("multipart/form-data; boundary=b");

        var error = await Record.ExceptionAsync(async () =>
        {
            using var response = await shim.Client.SendAsync(ImmichPredictRequest.Post(content), Ct);
            Assert.False(response.IsSuccessStatusCode, $"a {response.StatusCode} for an oversized body");
        });

        Assert.True(error is null or HttpRequestException or IOException, $"unexpected {error}");
        Assert.DoesNotContain(box.Ml.Calls, c => c.ImageLength == 2 * 1024 * 1024);
    }

    public static TheoryData<string, string, int, string> MalformedForms => new()
    {
        { "multipart/form-data; boundary=b", Form("entries", "{not json"), 422, "malformed-entries" },
        { "multipart/form-data; boundary=b", Form("entries", "[]"), 422, "malformed-entries" },
        { "multipart/form-data; boundary=b", Form("entries", "{}"), 422, "malformed-entries" },
        { "multipart/form-data; boundary=b", Form("entries", """{"clip":"visual"}"""), 422, "malformed-entries" },
        { "multipart/form-data; boundary=b", Form("entries", """{"clip":{"visual":"ViT-B-32__openai"}}"""), 422, "malformed-entries" },
        { "multipart/form-data; boundary=b", Form("text", "no entries here"), 422, "missing-entries" },
        { "multipart/form-data; boundary=b", "--b\r\nContent-Type: text/plain\r\n\r\nno name\r\n--b--\r\n", 400, "malformed-form" },
        { "application/json", """{"entries":{"clip":{"textual":{}}}}""", 415, "not-multipart" },
        { "multipart/form-data", Form("entries", ImmichPredictRequest.SmartSearchEntries), 400, "bad-boundary" },
    };

    [Theory]
    [MemberData(nameof(MalformedForms))]
    public async Task A_malformed_request_gets_an_honest_4xx_and_never_reaches_a_box(string contentType, string body, int status, string error)
    {
        await using var box = await GpuBox.StartAsync();
        await using var shim = await ShimUnderTest.StartAsync([box.Endpoints]);
        await shim.WaitForStateAsync(0, "online");
        using var content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);

        using var response = await shim.Client.SendAsync(ImmichPredictRequest.Post(content), Ct);

        Assert.Equal(status, (int)response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        Assert.Equal(error, problem.RootElement.GetProperty("error").GetString());
        Assert.False(string.IsNullOrWhiteSpace(problem.RootElement.GetProperty("detail").GetString()));
        Assert.Empty(box.Ml.Calls);
    }

    [Fact]
    public async Task Entries_after_an_image_larger_than_the_window_is_refused_rather_than_buffered()
    {
        await using var box = await GpuBox.StartAsync();
        await using var shim = await ShimUnderTest.StartAsync([box.Endpoints]);
        await shim.WaitForStateAsync(0, "online");
        using var content = new ByteArrayContent(
            ImmichPredictRequest.FormBytes("b", ImmichPredictRequest.SmartSearchEntries, PreviewJpeg.Default, null, imageFirst: true));
        content.Headers.ContentType = MediaTypeHeaderValue.Parse("multipart/form-data; boundary=b");

        using var response = await shim.Client.SendAsync(ImmichPredictRequest.Post(content), Ct);

        Assert.Equal(HttpStatusCode.UnprocessableEntity, response.StatusCode);
        Assert.Contains("first 64 KiB", await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Empty(box.Ml.Calls);
    }

    private static string Form(string name, string value) =>
        $"--b\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n--b--\r\n";

    private sealed class NonSeekable(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;
    }
}
