using System.Globalization;
using System.Net;
using System.Net.Sockets;
using GpuSplit.Protos.V1;
using GpuSplit.Testing.Agent;
using GpuSplit.Testing.Docker;
using GpuSplit.Testing.Grpc;
using GpuSplit.Testing.MlStandIn;
using GpuSplit.Testing.Network;
using GpuSplit.Testing.Processes;
using Grpc.Net.Client;

namespace GpuSplit.Agent.Tests;

/// <summary>The agent as a program: bad input, and the self-contained publish the image ships, answering health.</summary>
public sealed class ProgramTests
{
    [Theory]
    [InlineData("--Agent:PollInterval=banana", "'banana' at 'Agent:PollInterval'")]
    [InlineData("--Agent:Watchdog:VramThresholdPercent=150", "VramThresholdPercent must be between 1 and 100")]
    [InlineData("--Agent:PollInterval=00:20:00", "PollInterval must be between 00:00:00.050 and 00:10:00")]
    [InlineData("--Agent:Sleep:Delay=00:00:00.010", "Delay must be between 00:00:00.100 and 00:00:05")]
    [InlineData("--Agent:Worker:Container=not a name", "Agent:Worker:Container must be a Docker container name")]
    [InlineData("--urls=https://0.0.0.0:3004", "is not an address like http://0.0.0.0:3004")]
    public async Task Bad_configuration_is_one_line_and_exit_code_2(string argument, string expected)
    {
        await using var agent = AgentProcess.Start([argument, "--Agent:Metrics:Url="]);

        var code = await agent.WaitForExitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(2, code);
        var line = Assert.Single(agent.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("agent: ", line, StringComparison.Ordinal);
        Assert.Contains(expected, line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_port_in_use_is_one_line_and_exit_code_2()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port.ToString(CultureInfo.InvariantCulture);
        await using var agent = AgentProcess.Start(["--urls", $"http://127.0.0.1:{port}", "--Agent:Metrics:Url=", "--Agent:Gpu:Enabled=false"]);

        Assert.Equal(2, await agent.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        var errors = agent.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries).Where(l => l.StartsWith("agent: ", StringComparison.Ordinal));
        Assert.Contains("address already in use", Assert.Single(errors), StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", agent.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_self_contained_publish_runs_and_answers_health_through_its_own_probe_and_python()
    {
        var engine = await DockerEngine.MachineAsync();
        await using var worker = await MlStandInContainer.StartAsync(engine);
        var token = TestContext.Current.CancellationToken;
        var work = Path.Combine(Path.GetTempPath(), $"gpusplit-agent-publish-{Guid.NewGuid():N}");
        try
        {
            // What Dockerfile.cuda's build stage runs, into a folder of the test's own (obj and bin included).
            var project = Path.GetFullPath(Path.Combine(AgentProcess.BuildDirectory, "..", "..", "..", "GpuSplit.Agent.csproj"));
            var publish = await Command.RunAsync("dotnet",
                ["publish", project, "-c", "Release", "-r", "linux-x64", "--self-contained", "-o", Path.Combine(work, "out"),
                    "--artifacts-path", Path.Combine(work, "artifacts"), "-nologo"], TimeSpan.FromMinutes(5), cancellationToken: token);
            Assert.True(publish.Ok, publish.Describe());
            var executable = Path.Combine(work, "out", "agent");

            var port = FreePort.Next().ToString(CultureInfo.InvariantCulture);
            await using var agent = AgentProcess.Start(["--urls", $"http://127.0.0.1:{port}", "--Agent:Metrics:Url="],
                new Dictionary<string, string>
                {
                    ["Agent__Worker__Container"] = worker.Name,
                    ["Agent__Worker__Url"] = worker.BaseUri.ToString(),
                },
                executable);
            using var channel = GrpcChannel.ForAddress($"http://127.0.0.1:{port}");
            var client = new Protos.V1.Agent.AgentClient(channel);
            var status = await Waiting.UntilAsync(async () =>
            {
                try
                {
                    return await client.GetStatusAsync(new GetStatusRequest(), cancellationToken: token);
                }
                catch (global::Grpc.Core.RpcException)
                {
                    return null;
                }
            }, s => s is { Serving: true }, TimeSpan.FromSeconds(60), "the published agent to report SERVING", cancellationToken: token);

            Assert.False(status!.Gpu.Available);
            Assert.Contains("libnvidia-ml.so.1", status.Gpu.UnavailableReason, StringComparison.Ordinal);
            var probe = await Command.RunAsync(executable, ["probe", $"http://127.0.0.1:{port}"], TimeSpan.FromSeconds(30), cancellationToken: token);
            Assert.Equal(0, probe.ExitCode);
            Assert.Equal("status: Serving", probe.Stdout.Trim());
            Assert.Equal(PythonGrpcHealth.Serving, await PythonGrpcHealth.CheckAsync($"127.0.0.1:{port}", "immich-ml"));

            await worker.ControlAsync("ping-fail");
            await Waiting.UntilAsync(() => PythonGrpcHealth.CheckAsync($"127.0.0.1:{port}"), r => r == PythonGrpcHealth.NotServing,
                TimeSpan.FromSeconds(30), "NOT_SERVING once /ping fails", cancellationToken: token);
            var failing = await Command.RunAsync(executable, ["probe", $"http://127.0.0.1:{port}", "immich-ml"], TimeSpan.FromSeconds(30),
                cancellationToken: token);
            Assert.Equal(1, failing.ExitCode);
            Assert.Equal("status: NotServing", failing.Stdout.Trim());
        }
        finally
        {
            Directory.Delete(work, recursive: true);
        }
    }
}
