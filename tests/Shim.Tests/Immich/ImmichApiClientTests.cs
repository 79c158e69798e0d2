using System.Net;
using System.Net.Sockets;
using GpuSplit.Shim.Immich;
using GpuSplit.Testing.Immich;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace GpuSplit.Shim.Tests.Immich;

/// <summary>
/// The shim's Immich API client against a real HTTP server with Immich's endpoints and shapes: Immich 3.2.2's (the newest
/// release) unless a test names 1.135.3 (the 1.13x line).
/// </summary>
public sealed class ImmichApiClientTests
{
    [Fact]
    public async Task Reads_every_queue_with_its_statistics()
    {
        await using var immich = await ImmichApiStandIn.StartAsync(cancellationToken: TestContext.Current.CancellationToken);
        immich.SetStatistics("smartSearch", waiting: 120, active: 2, completed: 7, failed: 1);
        immich.SetStatistics("ocr", paused: 4, delayed: 3);
        using var http = new HttpClient();
        var client = Client(http, immich.Url, immich.ApiKey);

        var result = await client.GetQueuesAsync(TestContext.Current.CancellationToken);

        Assert.True(result.Succeeded, result.Error);
        Assert.Equal(ImmichApiStandIn.QueueNames, result.Value!.Select(q => q.Name));
        Assert.Equal(new QueueResponse("smartSearch", false, new QueueStatistics(Active: 2, Completed: 7, Delayed: 0, Failed: 1, Paused: 0, Waiting: 120)),
            result.Value!.Single(q => q.Name == "smartSearch"));
        Assert.Equal(new QueueStatistics(0, 0, 3, 0, 4, 0), result.Value!.Single(q => q.Name == "ocr").Statistics);
        var call = Assert.Single(immich.Calls);
        Assert.Equal(("GET", "/api/queues", immich.ApiKey), (call.Method, call.Path, call.ApiKey));
        Assert.Equal(1, immich.VersionAsks);
    }

    [Fact]
    public async Task Reads_every_queue_of_Immich_1_135_from_the_jobs_api()
    {
        await using var immich = await ImmichApiStandIn.StartAsync(cancellationToken: TestContext.Current.CancellationToken, release: ImmichRelease.V1_135_3);
        immich.SetStatistics("smartSearch", waiting: 120, active: 2, completed: 7, failed: 1);
        using var http = new HttpClient();
        var client = Client(http, immich.Url, immich.ApiKey);

        var result = await client.GetQueuesAsync(TestContext.Current.CancellationToken);

        Assert.True(result.Succeeded, result.Error);
        Assert.Equal(ImmichRelease.V1_135_3.QueueNames, result.Value!.Select(q => q.Name));
        Assert.DoesNotContain(result.Value!, q => q.Name == ImmichQueues.Ocr);
        Assert.Equal(new QueueResponse("smartSearch", false, new QueueStatistics(Active: 2, Completed: 7, Delayed: 0, Failed: 1, Paused: 0, Waiting: 120)),
            result.Value!.Single(q => q.Name == "smartSearch"));
        var call = Assert.Single(immich.Calls);
        Assert.Equal(("GET", "/api/jobs", immich.ApiKey), (call.Method, call.Path, call.ApiKey));
    }

    [Fact]
    public async Task Pauses_and_resumes_a_queue_of_Immich_1_135_with_job_commands()
    {
        await using var immich = await ImmichApiStandIn.StartAsync(cancellationToken: TestContext.Current.CancellationToken, release: ImmichRelease.V1_135_3);
        immich.SetStatistics("faceDetection", waiting: 3);
        using var http = new HttpClient();
        var client = Client(http, immich.Url, immich.ApiKey);

        var paused = await client.SetPausedAsync("faceDetection", true, TestContext.Current.CancellationToken);
        Assert.True(immich.IsPaused("faceDetection"));
        var resumed = await client.SetPausedAsync("faceDetection", false, TestContext.Current.CancellationToken);

        Assert.Equal(new QueueResponse("faceDetection", true, new QueueStatistics(0, 0, 0, 0, 0, 3)), paused.Value);
        Assert.False(resumed.Value!.IsPaused);
        Assert.False(immich.IsPaused("faceDetection"));
        Assert.All(immich.Calls, c => Assert.Equal(("PUT", "/api/jobs/faceDetection"), (c.Method, c.Path)));
        Assert.Equal(["""{"command":"pause","force":false}""", """{"command":"resume","force":false}"""], immich.Calls.Select(c => c.Body!.ToJsonString()));
        Assert.Equal(1, immich.VersionAsks);
    }

    [Fact]
    public async Task The_version_is_asked_once_per_connection_and_again_after_Immich_was_away_so_an_upgrade_is_followed()
    {
        var ct = TestContext.Current.CancellationToken;
        using var http = new HttpClient();
        int port;
        ImmichApiClient client;
        await using (var old = await ImmichApiStandIn.StartAsync(cancellationToken: ct, release: ImmichRelease.V1_135_3))
        {
            port = old.Url.Port;
            client = Client(http, old.Url, old.ApiKey);
            Assert.True((await client.GetQueuesAsync(ct)).Succeeded);
            Assert.True((await client.SetPausedAsync("smartSearch", true, ct)).Succeeded);
            Assert.Equal(1, old.VersionAsks);
        }

        // Immich is down for its upgrade, then back on the same address as 3.2.2.
        Assert.StartsWith("Immich API GET /api/jobs: unreachable: ", (await client.GetQueuesAsync(ct)).Error, StringComparison.Ordinal);
        await using var upgraded = await ImmichApiStandIn.StartAsync(cancellationToken: ct, release: ImmichRelease.V3_2_2, port: port);
        var queues = await client.GetQueuesAsync(ct);

        Assert.True(queues.Succeeded, queues.Error);
        Assert.Contains(queues.Value!, q => q.Name == ImmichQueues.Ocr);
        Assert.Equal(1, upgraded.VersionAsks);
        Assert.Equal(("GET", "/api/queues"), (Assert.Single(upgraded.Calls).Method, upgraded.Calls[0].Path));
    }

    [Fact]
    public async Task Pauses_and_resumes_a_queue_with_isPaused_on_the_queues_api_and_not_the_deprecated_jobs_api()
    {
        await using var immich = await ImmichApiStandIn.StartAsync(cancellationToken: TestContext.Current.CancellationToken);
        using var http = new HttpClient();
        var client = Client(http, immich.Url, immich.ApiKey);

        var paused = await client.SetPausedAsync("faceDetection", true, TestContext.Current.CancellationToken);
        Assert.True(immich.IsPaused("faceDetection"));
        var resumed = await client.SetPausedAsync("faceDetection", false, TestContext.Current.CancellationToken);

        Assert.True(paused.Value!.IsPaused);
        Assert.False(resumed.Value!.IsPaused);
        Assert.False(immich.IsPaused("faceDetection"));
        Assert.All(immich.Calls, c => Assert.Equal(("PUT", "/api/queues/faceDetection"), (c.Method, c.Path)));
        Assert.Equal(["""{"isPaused":true}""", """{"isPaused":false}"""], immich.Calls.Select(c => c.Body!.ToJsonString()));
        Assert.All(immich.Calls, c => Assert.StartsWith("application/json", c.ContentType, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Missing_is_a_start_command_without_force()
    {
        await using var immich = await ImmichApiStandIn.StartAsync(cancellationToken: TestContext.Current.CancellationToken);
        immich.SetStatistics("ocr", active: 1, waiting: 2);
        using var http = new HttpClient();
        var client = Client(http, immich.Url, immich.ApiKey);

        var result = await client.StartMissingAsync("ocr", TestContext.Current.CancellationToken);

        Assert.True(result.Succeeded, result.Error);
        Assert.Equal(new QueueResponseLegacy(new QueueStatistics(1, 0, 0, 0, 0, 2), new QueueStatusLegacy(IsActive: true, IsPaused: false)), result.Value);
        var call = Assert.Single(immich.Calls);
        Assert.Equal(("PUT", "/api/jobs/ocr"), (call.Method, call.Path));
        Assert.Equal("""{"command":"start","force":false}""", call.Body!.ToJsonString());
        Assert.Equal(1, immich.MissingPresses("ocr"));
    }

    [Fact]
    public async Task A_wrong_key_is_reported_as_such()
    {
        await using var immich = await ImmichApiStandIn.StartAsync(cancellationToken: TestContext.Current.CancellationToken);
        using var http = new HttpClient();
        var client = Client(http, immich.Url, "not-the-key");

        var result = await client.SetPausedAsync("smartSearch", true, TestContext.Current.CancellationToken);

        Assert.False(result.Succeeded);
        Assert.Equal("Immich API PUT /api/queues/smartSearch: 401 Unauthorized: the API key is not accepted (check Shim__Immich__ApiKey)", result.Error);
        Assert.False(immich.IsPaused("smartSearch"));
        Assert.False(Assert.Single(immich.Calls).Authorized);
    }

    [Theory]
    [InlineData(500, "500 InternalServerError")]
    [InlineData(503, "503 ServiceUnavailable")]
    public async Task A_server_error_is_a_result(int status, string text)
    {
        await using var immich = await ImmichApiStandIn.StartAsync(cancellationToken: TestContext.Current.CancellationToken);
        immich.FailWith = status;
        using var http = new HttpClient();

        var result = await Client(http, immich.Url, immich.ApiKey).GetQueuesAsync(TestContext.Current.CancellationToken);

        Assert.Equal($"Immich API GET /api/queues: {text}", result.Error);
    }

    [Fact]
    public async Task An_unreachable_server_is_a_result()
    {
        // A port nobody listens on: the connection is refused at once.
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var url = new Uri($"http://127.0.0.1:{((IPEndPoint)socket.LocalEndPoint!).Port}");
        using var http = new HttpClient();

        var result = await Client(http, url, "key").StartMissingAsync("smartSearch", TestContext.Current.CancellationToken);

        Assert.False(result.Succeeded);
        Assert.StartsWith("Immich API PUT /api/jobs/smartSearch: unreachable: ", result.Error, StringComparison.Ordinal);
        Assert.Contains("refused", result.Error, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_server_that_does_not_answer_in_time_is_a_result()
    {
        await using var immich = await ImmichApiStandIn.StartAsync(cancellationToken: TestContext.Current.CancellationToken);
        immich.Delay = TimeSpan.FromSeconds(30);
        using var http = new HttpClient();
        var client = Client(http, immich.Url, immich.ApiKey, timeout: TimeSpan.FromMilliseconds(200));

        var result = await client.GetQueuesAsync(TestContext.Current.CancellationToken);

        // The version, asked first on a new connection, is the call that hangs.
        Assert.Equal("Immich API GET /api/server/version: no answer within 0.2 s", result.Error);
    }

    [Fact]
    public async Task Without_an_api_key_nothing_is_sent_and_the_result_says_why()
    {
        await using var immich = await ImmichApiStandIn.StartAsync(cancellationToken: TestContext.Current.CancellationToken);
        using var http = new HttpClient();
        var client = Client(http, immich.Url, apiKey: null);

        var result = await client.GetQueuesAsync(TestContext.Current.CancellationToken);

        Assert.False(client.Enabled);
        Assert.Equal(ImmichOptions.DisabledReason, result.Error);
        Assert.Empty(immich.Calls);
    }

    [Fact]
    public async Task A_server_that_is_not_immich_is_a_result()
    {
        await using var immich = await ImmichApiStandIn.StartAsync(cancellationToken: TestContext.Current.CancellationToken);
        using var http = new HttpClient();

        // The stand-in's banner-less 404 for an unknown queue: not a QueueResponseDto.
        var result = await Client(http, immich.Url, immich.ApiKey).SetPausedAsync("noSuchQueue", true, TestContext.Current.CancellationToken);

        Assert.StartsWith("Immich API PUT /api/queues/noSuchQueue: 404 Not Found", result.Error, StringComparison.Ordinal);
    }

    private static ImmichApiClient Client(HttpClient http, Uri url, string? apiKey, TimeSpan? timeout = null) =>
        new(http, Options.Create(new ImmichOptions { Url = url.ToString(), ApiKey = apiKey, Timeout = timeout ?? TimeSpan.FromSeconds(10) }),
            NullLogger<ImmichApiClient>.Instance);
}
