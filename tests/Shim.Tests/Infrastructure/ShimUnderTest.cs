using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace GpuSplit.Shim.Tests.Infrastructure;

/// <summary>A real shim (Kestrel on a free loopback port) built from the same code as the program.</summary>
public sealed class ShimUnderTest : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _disposed;

    private ShimUnderTest(WebApplication app, CapturedLogs logs)
    {
        _app = app;
        Logs = logs;
        var address = app.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses.Single();
        BaseAddress = new Uri(address);
        Client = NewClient(BaseAddress);
    }

    public Uri BaseAddress { get; }

    public HttpClient Client { get; }

    public IServiceProvider Services => _app.Services;

    /// <summary>What it logged at Information and above, whatever the log levels below, Kestrel's own lines included.</summary>
    public CapturedLogs Logs { get; }

    /// <param name="upstreams">(ML service, agent) per GPU box.</param>
    /// <param name="settings">Extra <c>Shim:...</c> keys, e.g. ("HoldLimit", "00:00:05").</param>
    public static async Task<ShimUnderTest> StartAsync(
        IEnumerable<(Uri Ml, Uri Agent)> upstreams,
        IEnumerable<(string Key, string Value)>? settings = null,
        TimeProvider? time = null,
        string? token = null)
    {
        var args = new List<string>
        {
            "--urls=http://127.0.0.1:0",
            ShimProgram.LedgerArgument(),
            "--Logging:LogLevel:Default=Warning",
            "--Logging:LogLevel:GpuSplit=Warning",
            // A woken box is noticed quickly in tests; the default is 0.5 s, doubling up to the max.
            "--Shim:AgentWatch:ReconnectDelay=00:00:00.050",
            "--Shim:AgentWatch:ReconnectMaxDelay=00:00:00.200",
        };
        var index = 0;
        foreach (var (ml, agent) in upstreams)
        {
            args.Add($"--Shim:Upstreams:{index}:Name=gpu-box-{index}");
            args.Add($"--Shim:Upstreams:{index}:Url={ml}");
            args.Add($"--Shim:Upstreams:{index}:Agent={agent}");
            if (token is not null)
            {
                args.Add($"--Shim:Upstreams:{index}:Token={token}");
            }

            index++;
        }

        args.AddRange((settings ?? []).Select(s => $"--Shim:{s.Key}={s.Value}"));
        var logs = new CapturedLogs();
        var app = ShimApplication.Build([.. args], builder =>
        {
            builder.Logging.AddProvider(logs);
            builder.Logging.AddFilter<CapturedLogs>(null, LogLevel.Information);
            if (time is not null)
            {
                builder.Services.AddSingleton(time);
            }
        });
        await app.StartAsync(TestContext.Current.CancellationToken);
        return new ShimUnderTest(app, logs);
    }

    public static HttpClient NewClient(Uri baseAddress) =>
        new(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false }) { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(60) };

    public async Task<JsonElement> StatusAsync() =>
        await Client.GetFromJsonAsync<JsonElement>("/status.json", TestContext.Current.CancellationToken);

    /// <summary>Polls /status.json until the condition holds; fails (never skips) after 30 s with the last report.</summary>
    public async Task<JsonElement> WaitForStatusAsync(Func<JsonElement, bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            var status = await StatusAsync();
            if (condition(status))
            {
                return status;
            }

            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"waited 30 s for {what}; last status: {status}");
            }

            await Task.Delay(20, TestContext.Current.CancellationToken);
        }
    }

    public Task WaitForHeldAsync(int held) =>
        WaitForStatusAsync(s => s.GetProperty("hold").GetProperty("held").GetInt32() == held, $"{held} held job(s)");

    public Task WaitForStateAsync(int upstream, string state) =>
        WaitForStatusAsync(s => s.GetProperty("upstreams")[upstream].GetProperty("state").GetString() == state, $"gpu-box-{upstream} {state}");

    public async Task<string> MetricsAsync() =>
        await Client.GetStringAsync("/metrics", TestContext.Current.CancellationToken);

    /// <summary>The value of one metric series in /metrics, 0 when absent.</summary>
    public async Task<double> MetricAsync(string series)
    {
        foreach (var line in (await MetricsAsync()).Split('\n'))
        {
            if (line.StartsWith(series + " ", StringComparison.Ordinal))
            {
                return double.Parse(line[(series.Length + 1)..], CultureInfo.InvariantCulture);
            }
        }

        return 0;
    }

    /// <summary>Stops the shim gracefully (held requests get their 503); safe to call again.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        Client.Dispose();
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
    }
}
