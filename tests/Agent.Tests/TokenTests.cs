using GpuSplit.Protos.V1;
using GpuSplit.Testing.Docker;
using GpuSplit.Testing.Network;
using Grpc.Core;

namespace GpuSplit.Agent.Tests;

/// <summary>
/// The agent's bearer tokens over real gRPC: RestartWorker and Sleep take the token exactly (no header, another
/// token, another case, a stray space are all refused with one message), and the read-only calls are open unless a
/// read token is set. The worker is absent: these calls must be decided by the token before any work.
/// </summary>
public sealed class TokenTests
{
    private const string Token = "S3cret-Token";
    private const string ReadToken = "r3ad-only";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>"" sends no authorization header at all.</summary>
    public static TheoryData<string> WrongHeaders =>
    [
        "",
        "Bearer wrong-token",
        $"Bearer {Token.ToLowerInvariant()}",
        $"Bearer {Token.ToUpperInvariant()}",
        $"Bearer  {Token}",
        $"Bearer {Token} ",
        $"Bearer \t{Token}",
        $"Bearer {Token}x",
        $"Bearer {Token[..^1]}",
        Token,
        $"Basic {Token}",
        "Bearer ",
    ];

    [Theory]
    [MemberData(nameof(WrongHeaders))]
    public async Task RestartWorker_and_Sleep_refuse_anything_but_the_exact_token(string header)
    {
        await using var agent = await StartAsync(new() { ["Agent:Token"] = Token });

        var restart = await Assert.ThrowsAsync<RpcException>(async () =>
            await agent.Client.RestartWorkerAsync(new RestartWorkerRequest { Reason = "test" }, Headers(header), Deadline(), Ct));
        var sleep = await Assert.ThrowsAsync<RpcException>(async () =>
            await agent.Client.SleepAsync(new SleepRequest { Reason = "test" }, Headers(header), Deadline(), Ct));

        Assert.Equal((StatusCode.Unauthenticated, "RestartWorker needs the agent's token: authorization: Bearer <token>"), (restart.StatusCode, restart.Status.Detail));
        Assert.Equal((StatusCode.Unauthenticated, "Sleep needs the agent's token: authorization: Bearer <token>"), (sleep.StatusCode, sleep.Status.Detail));
        Assert.DoesNotContain("RestartWorker for", agent.Logs, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Bearer")]
    [InlineData("bearer")]
    [InlineData("BEARER")]
    public async Task The_exact_token_is_accepted_whatever_the_case_of_the_scheme(string scheme)
    {
        await using var agent = await StartAsync(new() { ["Agent:Token"] = Token });

        var restart = await agent.Client.RestartWorkerAsync(new RestartWorkerRequest { Reason = "test" }, Headers($"{scheme} {Token}"), Deadline(), Ct);
        var sleep = await agent.Client.SleepAsync(new SleepRequest { Reason = "test" }, Headers($"{scheme} {Token}"), Deadline(), Ct);

        // Past the token: the agent tried (the container is absent, there is no sleep command).
        Assert.False(restart.Restarted);
        Assert.NotEmpty(restart.Message);
        Assert.Equal(SleepRefusal.NotConfigured, sleep.Refusal);
        Assert.Contains("RestartWorker for", agent.Logs, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_a_configured_token_RestartWorker_and_Sleep_are_disabled_whatever_is_sent()
    {
        await using var agent = await StartAsync([]);

        var restart = await Assert.ThrowsAsync<RpcException>(async () =>
            await agent.Client.RestartWorkerAsync(new RestartWorkerRequest(), Headers("Bearer anything"), Deadline(), Ct));
        var sleep = await Assert.ThrowsAsync<RpcException>(async () =>
            await agent.Client.SleepAsync(new SleepRequest(), Headers($"Bearer {Token}"), Deadline(), Ct));

        Assert.Equal((StatusCode.PermissionDenied, "RestartWorker is disabled: no token is configured on the agent (set Agent__Token)"), (restart.StatusCode, restart.Status.Detail));
        Assert.Equal(StatusCode.PermissionDenied, sleep.StatusCode);
    }

    [Fact]
    public async Task Reads_are_open_by_default()
    {
        await using var agent = await StartAsync(new() { ["Agent:Token"] = Token });

        await ReadAllAsync(agent, header: null);
    }

    [Fact]
    public async Task With_a_read_token_reads_need_it_or_the_token_and_the_read_token_changes_nothing()
    {
        await using var agent = await StartAsync(new() { ["Agent:Token"] = Token, ["Agent:ReadToken"] = ReadToken });

        foreach (var header in new[] { null, "Bearer wrong", $"Bearer {ReadToken} ", $"Bearer {ReadToken.ToUpperInvariant()}" })
        {
            foreach (var read in Reads(agent, header))
            {
                var refused = await Assert.ThrowsAsync<RpcException>(read);
                Assert.Equal(StatusCode.Unauthenticated, refused.StatusCode);
                Assert.EndsWith("needs the agent's read token (Agent__ReadToken) or its token: authorization: Bearer <token>", refused.Status.Detail, StringComparison.Ordinal);
            }
        }

        await ReadAllAsync(agent, $"Bearer {ReadToken}");
        await ReadAllAsync(agent, $"Bearer {Token}");
        var restart = await Assert.ThrowsAsync<RpcException>(async () =>
            await agent.Client.RestartWorkerAsync(new RestartWorkerRequest(), Headers($"Bearer {ReadToken}"), Deadline(), Ct));
        Assert.Equal(StatusCode.Unauthenticated, restart.StatusCode);
    }

    private static async Task ReadAllAsync(AgentUnderTest agent, string? header)
    {
        foreach (var read in Reads(agent, header))
        {
            await read();
        }
    }

    /// <summary>GetStatus, GetFootprints, GetEvidence, and the first message of WatchStatus, each with <paramref name="header"/>.</summary>
    private static IEnumerable<Func<Task>> Reads(AgentUnderTest agent, string? header)
    {
        yield return async () => await agent.Client.GetStatusAsync(new GetStatusRequest(), Headers(header), Deadline(), Ct);
        yield return async () => await agent.Client.GetFootprintsAsync(new GetFootprintsRequest(), Headers(header), Deadline(), Ct);
        yield return async () => await agent.Client.GetEvidenceAsync(new GetEvidenceRequest(), Headers(header), Deadline(), Ct);
        yield return async () =>
        {
            using var watch = agent.Client.WatchStatus(new WatchStatusRequest(), Headers(header), Deadline(), Ct);
            Assert.True(await watch.ResponseStream.MoveNext(Ct), "WatchStatus ended without a message");
        };
    }

    private static Task<AgentUnderTest> StartAsync(Dictionary<string, string> settings) =>
        AgentUnderTest.StartAsync(TestContainers.UniqueName("absent"), new Uri($"http://127.0.0.1:{FreePort.Next()}"), settings);

    private static Metadata Headers(string? authorization) =>
        string.IsNullOrEmpty(authorization) ? [] : new Metadata { { "authorization", authorization } };

    private static DateTime Deadline() => DateTime.UtcNow.AddSeconds(60);
}
