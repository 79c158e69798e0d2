using GpuSplit.Protos.V1;
using GpuSplit.Testing.Agent;
using GpuSplit.Testing.Docker;
using GpuSplit.Testing.Network;
using GpuSplit.Testing.Processes;
using Grpc.Core;
using Grpc.Net.Client;

namespace GpuSplit.Planner.Tests.Service;

/// <summary>
/// `planner fit --agent` against the real agent process keeping its reads private (Agent:ReadToken): refused in one
/// line that names GPUSPLIT_AGENT_TOKEN, and answered once the variable holds the read token.
/// </summary>
public sealed class AgentReadTokenTests : IDisposable
{
    private const string ReadToken = "r3ad-only-token";

    private readonly TempFolder temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public async Task Fit_reads_a_private_agent_with_the_token_from_its_environment_and_says_which_variable_when_refused()
    {
        var port = FreePort.Next();
        await using var agent = AgentProcess.Start(
        [
            "--urls", $"http://127.0.0.1:{port}",
            $"--Agent:Worker:Container={TestContainers.UniqueName("absent")}",
            $"--Agent:Worker:Url=http://127.0.0.1:{FreePort.Next()}",
            "--Agent:Metrics:Url=",
            "--Agent:Gpu:Enabled=false",
            $"--Agent:DataFolder={temp.Path}",
            $"--Agent:ReadToken={ReadToken}",
        ]);
        using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
        var client = new Protos.V1.Agent.AgentClient(channel);
        // Up when it answers at all: the refusal of an anonymous read is the answer wanted here.
        var first = await Waiting.UntilAsync(async () =>
            {
                try
                {
                    await client.GetFootprintsAsync(new GetFootprintsRequest(), cancellationToken: TestContext.Current.CancellationToken);
                    return StatusCode.OK;
                }
                catch (RpcException e)
                {
                    return e.StatusCode;
                }
            },
            code => code != StatusCode.Unavailable || agent.HasExited, TimeSpan.FromSeconds(60), "the agent to answer",
            cancellationToken: TestContext.Current.CancellationToken);
        Assert.True(first == StatusCode.Unauthenticated, $"{first}\nagent:\n{agent.Output}");

        var refused = await PlannerProcess.RunAsync("fit", "--vram", "6GB", "--agent", $"http://127.0.0.1:{port}");
        var read = await PlannerProcess.RunAsync(new[] { "fit", "--vram", "6GB", "--agent", $"http://127.0.0.1:{port}" },
            new Dictionary<string, string> { ["GPUSPLIT_AGENT_TOKEN"] = ReadToken });

        Assert.Equal(2, refused.ExitCode);
        Assert.StartsWith($"planner: --agent: the agent at http://127.0.0.1:{port}/ keeps its status private: set GPUSPLIT_AGENT_TOKEN to its read token",
            Assert.Single(refused.ErrorLines), StringComparison.Ordinal);
        Assert.True(read.ExitCode == 0, read.ToString());
        Assert.Contains($"planner fit: the agent at http://127.0.0.1:{port}/ has observed no model load yet", read.Error, StringComparison.Ordinal);
    }
}
