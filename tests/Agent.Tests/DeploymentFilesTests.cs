using System.Reflection;
using System.Text.RegularExpressions;
using GpuSplit.Agent.Hosting;
using GpuSplit.Testing.Agent;

namespace GpuSplit.Agent.Tests;

/// <summary>
/// Dockerfile.cuda and deploy/gpu-box/compose.yaml cannot be built or started here (no registry, no GPU); what they
/// say about the agent is checked against the agent itself, so they cannot drift from it unnoticed.
/// </summary>
public sealed partial class DeploymentFilesTests
{
    private static readonly string Root = Path.GetFullPath(Path.Combine(AgentProcess.BuildDirectory, "..", "..", "..", ".."));

    [Fact]
    public void Every_agent_setting_in_the_compose_file_is_a_real_configuration_key()
    {
        var compose = File.ReadAllText(Path.Combine(Root, "deploy", "gpu-box", "compose.yaml"));
        var keys = AgentKey().Matches(compose).Select(m => m.Groups["path"].Value).ToList();

        Assert.Contains("Worker__Container", keys);
        Assert.Contains("Token", keys);
        foreach (var key in keys)
        {
            Type type = typeof(AgentOptions);
            foreach (var part in key.Split("__"))
            {
                var property = type.GetProperty(part, BindingFlags.Public | BindingFlags.Instance);
                Assert.True(property is not null, $"compose.yaml sets Agent__{key}, but {type.Name} has no property {part}");
                type = property.PropertyType;
            }
        }

        Assert.Contains($"container_name: {new WorkerOptions().Container}", compose, StringComparison.Ordinal);
        Assert.Contains("MACHINE_LEARNING_WORKERS: ${MACHINE_LEARNING_WORKERS:-1}", compose, StringComparison.Ordinal);
        Assert.Contains("MACHINE_LEARNING_MODEL_TTL: ${MACHINE_LEARNING_MODEL_TTL:-300}", compose, StringComparison.Ordinal);
        Assert.Contains("/var/run/docker.sock:/var/run/docker.sock", compose, StringComparison.Ordinal);
    }

    [Fact]
    public void The_image_health_check_is_the_probe_the_publish_test_runs_on_the_default_port()
    {
        var dockerfile = File.ReadAllText(Path.Combine(Root, "Dockerfile.cuda"));

        Assert.Matches(@"HEALTHCHECK [^\n]*\\\n\s*CMD \[""/opt/gpusplit/agent/agent"", ""probe"", ""http://127\.0\.0\.1:3004""\]", dockerfile);
        Assert.Equal("http://0.0.0.0:3004", Listeners.DefaultGrpcUrls);
        Assert.Contains("dotnet publish agent/GpuSplit.Agent.csproj -c Release -r linux-x64 --self-contained", dockerfile, StringComparison.Ordinal);
        Assert.Matches(@"FROM nvidia/cuda:12\.[0-9.]+-cudnn-runtime", dockerfile);
        Assert.Matches(@"\nUSER (?!0\b|root\b)\S+", dockerfile);
    }

    [GeneratedRegex(@"^\s+Agent__(?<path>[A-Za-z_]+):", RegexOptions.Multiline)]
    private static partial Regex AgentKey();
}
