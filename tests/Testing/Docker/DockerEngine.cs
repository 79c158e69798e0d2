using System.Text.Json;
using GpuSplit.Testing.Processes;

namespace GpuSplit.Testing.Docker;

/// <summary>
/// A real Docker engine reached through the docker CLI at <see cref="Host"/>. <see cref="MachineAsync"/> is the
/// machine's own daemon (started when it does not answer); <see cref="PrivateDockerDaemon"/> makes another one.
/// Tests use the CLI, not Docker.DotNet, so they check the agent's Docker client against an independent path.
/// </summary>
public sealed class DockerEngine
{
    public const string DefaultSocket = "/var/run/docker.sock";
    public const string EmptyImage = "gpusplit-test/empty:latest";

    private static readonly SemaphoreSlim MachineGate = new(1, 1);
    private static DockerEngine? _machine;
    private static string? _machineFailure;

    public DockerEngine(string host) => Host = host;

    /// <summary>The engine's endpoint, e.g. <c>unix:///var/run/docker.sock</c>.</summary>
    public string Host { get; }

    /// <summary>
    /// The machine's Docker engine at /var/run/docker.sock. When <c>docker info</c> does not answer, starts
    /// <c>dockerd --iptables=false --bridge=none</c> detached (it outlives the test run: other developers share it),
    /// logging to a temp file, and waits up to 30 s. Fails the test under CI=true, skips it elsewhere, when no engine
    /// can be had. Also imports <see cref="EmptyImage"/> and removes containers left by test runs that died.
    /// </summary>
    public static async Task<DockerEngine> MachineAsync()
    {
        await MachineGate.WaitAsync();
        try
        {
            if (_machine is null && _machineFailure is null)
            {
                (_machine, _machineFailure) = await StartMachineDaemonAsync();
            }
        }
        finally
        {
            MachineGate.Release();
        }

        RequiredPart.Require(_machine is not null, $"a Docker engine ({_machineFailure})");
        return _machine!;
    }

    /// <summary>Runs <c>docker -H Host args...</c>; a bounded wait (default 60 s).</summary>
    public Task<CommandResult> CliAsync(IEnumerable<string> args, TimeSpan? timeout = null, string? standardInput = null) =>
        Command.RunAsync("docker", ["-H", Host, .. args], timeout ?? TimeSpan.FromSeconds(60), standardInput);

    public Task<CommandResult> CliAsync(params string[] args) => CliAsync(args, null);

    /// <summary>Runs the CLI and throws with the CLI's own message when it fails.</summary>
    public async Task<string> CheckedAsync(params string[] args)
    {
        var result = await CliAsync(args);
        if (!result.Ok)
        {
            throw new InvalidOperationException($"docker {string.Join(' ', args)} failed: {result.Describe()}");
        }

        return result.Stdout.Trim();
    }

    public async Task<bool> AnswersAsync()
    {
        try
        {
            return (await CliAsync(["info", "--format", "{{.ServerVersion}}"], TimeSpan.FromSeconds(10))).Ok;
        }
        catch (TimeoutException)
        {
            return false;
        }
    }

    /// <summary>Imports the empty image (no files at all) unless it is there; containers bind-mount what they run.</summary>
    public async Task EnsureEmptyImageAsync()
    {
        if ((await CliAsync("image", "inspect", EmptyImage)).Ok)
        {
            return;
        }

        // An empty tar archive is 10 KiB of zeros; docker import reads it from stdin.
        var import = await Command.RunAsync("sh", ["-c", $"tar -cf - --files-from /dev/null | docker -H '{Host}' import - {EmptyImage}"],
            TimeSpan.FromSeconds(60));
        if (!import.Ok)
        {
            throw new InvalidOperationException($"importing {EmptyImage} failed: {import.Describe()}");
        }
    }

    /// <summary>The container's <c>docker inspect</c> document, or null when no such container exists.</summary>
    public async Task<JsonElement?> InspectAsync(string container)
    {
        var result = await CliAsync("container", "inspect", container);
        if (!result.Ok)
        {
            return null;
        }

        using var document = JsonDocument.Parse(result.Stdout);
        return document.RootElement[0].Clone();
    }

    public async Task<ContainerState?> StateAsync(string container) =>
        await InspectAsync(container) is { } inspect ? ContainerState.From(inspect) : null;

    private static async Task<(DockerEngine?, string?)> StartMachineDaemonAsync()
    {
        var engine = new DockerEngine("unix://" + DefaultSocket);
        if (!Command.Exists("docker"))
        {
            return (null, "the docker CLI is not installed; run scripts/setup-test-host.sh");
        }

        if (!await engine.AnswersAsync())
        {
            if (!Command.Exists("dockerd"))
            {
                return (null, "dockerd is not installed; run scripts/setup-test-host.sh");
            }

            // Another developer's test run may be starting it at the same moment: one starter, the others wait.
            using (var startLock = await HostLock.AcquireAsync("gpusplit-dockerd.lock", TimeSpan.FromSeconds(60)))
            {
                if (!await engine.AnswersAsync())
                {
                    var log = Path.Combine(Path.GetTempPath(), $"gpusplit-dockerd-{Environment.ProcessId}.log");
                    var start = await Command.RunAsync("setsid",
                        ["-f", "sh", "-c", $"exec dockerd --iptables=false --bridge=none >>'{log}' 2>&1"], TimeSpan.FromSeconds(10));
                    if (!start.Ok)
                    {
                        return (null, $"could not start dockerd: {start.Describe()}");
                    }

                    if (!await WaitUntilAnswersAsync(engine, TimeSpan.FromSeconds(30)))
                    {
                        return (null, $"dockerd did not answer within 30 s (log: {log})");
                    }
                }
            }
        }

        await engine.EnsureEmptyImageAsync();
        await TestContainers.RemoveOrphansAsync(engine);
        return (engine, null);
    }

    internal static async Task<bool> WaitUntilAnswersAsync(DockerEngine engine, TimeSpan timeout)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            if (await engine.AnswersAsync())
            {
                return true;
            }

            await Task.Delay(250);
        }

        return false;
    }
}
