using System.Diagnostics;
using System.Text.Json;

namespace GpuSplit.Bench.Shim;

/// <summary>Talks to a shim (or nginx) the way the benchmark needs: timed requests and waits on /status.json.</summary>
public static class ShimClient
{
    public static HttpClient Create(Uri target) =>
        new(new SocketsHttpHandler { UseProxy = false, MaxConnectionsPerServer = 256 }) { BaseAddress = target, Timeout = TimeSpan.FromMinutes(5) };

    /// <summary>One request after the other, each timed to the end of its body.</summary>
    public static async Task<List<Answer>> TimeOneByOneAsync(Uri target, Func<HttpRequestMessage> request, int count, CancellationToken ct)
    {
        using var client = Create(target);
        var answers = new List<Answer>();
        for (var i = 0; i < count; i++)
        {
            var clock = Stopwatch.StartNew();
            using var response = await client.SendAsync(request(), ct);
            await response.Content.ReadAsByteArrayAsync(ct);
            answers.Add(new Answer((int)response.StatusCode, clock.Elapsed.TotalMilliseconds));
        }

        return answers;
    }

    /// <summary>All at once, each timed.</summary>
    public static async Task<List<Answer>> TimeTogetherAsync(Uri target, Func<HttpRequestMessage> request, int count, CancellationToken ct)
    {
        using var client = Create(target);
        return [.. await Task.WhenAll(Enumerable.Range(0, count).Select(async _ =>
        {
            var clock = Stopwatch.StartNew();
            using var response = await client.SendAsync(request(), ct);
            await response.Content.ReadAsByteArrayAsync(ct);
            return new Answer((int)response.StatusCode, clock.Elapsed.TotalMilliseconds);
        }))];
    }

    /// <summary>
    /// The shim's own count of jobs it lost and requests it rejected (/status.json totals), read once it has no request
    /// in flight or held (a request its client cut short is counted when the shim has finished with it).
    /// </summary>
    public static async Task<(long Lost, long Rejected)> SettledCountersAsync(Uri shim, CancellationToken ct)
    {
        using var client = Create(shim);
        await WaitAsync(shim, s => s.GetProperty("hold").GetProperty("held").GetInt32() == 0
            && s.GetProperty("upstreams").EnumerateArray().All(u => u.GetProperty("inFlight").GetInt32() == 0), "no request in flight", ct);
        using var status = JsonDocument.Parse(await client.GetStringAsync("/status.json", ct));
        var totals = status.RootElement.GetProperty("totals");
        return (totals.GetProperty("lost").GetInt64(), totals.GetProperty("rejected").GetInt64());
    }

    /// <summary>The shim's garbage collections so far (/metrics: gen0's <c>dotnet_collection_count_total</c>, which every collection counts in).</summary>
    public static async Task<long> CollectionsAsync(Uri shim, CancellationToken ct)
    {
        using var client = Create(shim);
        const string Gen0 = "dotnet_collection_count_total{generation=\"0\"} ";
        var line = (await client.GetStringAsync("/metrics", ct)).Split('\n').Single(l => l.StartsWith(Gen0, StringComparison.Ordinal));
        return long.Parse(line.AsSpan(Gen0.Length), System.Globalization.CultureInfo.InvariantCulture);
    }

    public static Task WaitForStateAsync(Uri shim, string state, CancellationToken ct) =>
        WaitAsync(shim, s => s.GetProperty("upstreams")[0].GetProperty("state").GetString() == state, $"the box {state}", ct);

    public static Task WaitForHeldAsync(Uri shim, int held, CancellationToken ct) =>
        WaitAsync(shim, s => s.GetProperty("hold").GetProperty("held").GetInt32() == held, $"{held} held jobs", ct);

    private static async Task WaitAsync(Uri shim, Func<JsonElement, bool> condition, string what, CancellationToken ct)
    {
        using var client = Create(shim);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            using var status = JsonDocument.Parse(await client.GetStringAsync("/status.json", ct));
            if (condition(status.RootElement))
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"the shim did not report {what} within 60 s");
            }

            await Task.Delay(10, ct);
        }
    }
}

/// <summary>A status code and how long it took, in milliseconds.</summary>
public readonly record struct Answer(int Status, double Ms);
