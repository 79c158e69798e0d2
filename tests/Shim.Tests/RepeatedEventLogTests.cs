using System.Net;
using GpuSplit.Shim.Status;
using GpuSplit.Shim.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace GpuSplit.Shim.Tests;

/// <summary>
/// A search refused per request during an outage is counted every time, and logged once and then as one summary line
/// per window, not one line each.
/// </summary>
public sealed class RepeatedEventLogTests
{
    private const int RefusedOnce = 204;
    private const int RefusedSummary = 211;
    private const int RejectedOnce = 205;
    private const int RejectedSummary = 212;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Searches_refused_while_the_box_sleeps_are_logged_once_then_summed_up_per_window()
    {
        await using var asleep = new AsleepBox();
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-05-01T20:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        await using var shim = await ShimUnderTest.StartAsync([asleep.Endpoints], time: time);
        var logs = shim.Logs;
        await shim.WaitForStateAsync(0, "asleep");

        await RefuseSearchesAsync(shim, 25);

        var once = Assert.Single(logs.WithEventId(RefusedOnce));
        Assert.Equal("Refused a search request at once: asleep", once.Message);
        Assert.Empty(logs.WithEventId(RefusedSummary));
        Assert.Equal(25, await shim.MetricAsync("""shim_decisions_total{kind="search",decision="refuse",reason="asleep"}"""));

        time.Advance(RepeatedEventLog.Window);

        var summary = Assert.Single(logs.WithEventId(RefusedSummary));
        Assert.StartsWith("Refused 24 more search requests at once in the last 60 s: GPU host asleep: its agent does not answer", summary.Message, StringComparison.Ordinal);

        // A quiet window ends the summary: nothing more is said, and the next refusal is news again.
        time.Advance(RepeatedEventLog.Window);
        time.Advance(RepeatedEventLog.Window);
        Assert.Single(logs.WithEventId(RefusedSummary));
        await RefuseSearchesAsync(shim, 1);
        Assert.Equal(2, logs.WithEventId(RefusedOnce).Count);
        Assert.Single(logs.WithEventId(RefusedSummary));
    }

    [Fact]
    public async Task Malformed_requests_are_logged_once_then_summed_up_per_window()
    {
        await using var box = await GpuBox.StartAsync(serving: true);
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-05-01T20:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        await using var shim = await ShimUnderTest.StartAsync([box.Endpoints], time: time);
        var logs = shim.Logs;

        for (var i = 0; i < 3; i++)
        {
            using var client = ShimUnderTest.NewClient(shim.BaseAddress);
            using var response = await client.PostAsync("/predict", new StringContent("{}", System.Text.Encoding.UTF8, "application/json"), Ct);
            Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
        }

        Assert.Single(logs.WithEventId(RejectedOnce));
        time.Advance(RepeatedEventLog.Window);
        var summary = Assert.Single(logs.WithEventId(RejectedSummary));
        Assert.StartsWith("Rejected 2 more requests with 415 not-multipart in the last 60 s", summary.Message, StringComparison.Ordinal);
    }

    private static async Task RefuseSearchesAsync(ShimUnderTest shim, int count)
    {
        for (var i = 0; i < count; i++)
        {
            using var response = await shim.Client.SendAsync(ImmichPredictRequest.Search("birthday cake"), Ct);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        }
    }
}
