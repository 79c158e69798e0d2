using System.Diagnostics;
using System.Globalization;
using System.Net;
using GpuSplit.Testing.Processes;

namespace GpuSplit.Testing.GpuBox;

/// <summary>
/// The GPU box as a network-namespace test host (scripts/gpubox-rig.sh): its own address on a private /24 the
/// rig assigns, processes and a Docker engine of its own inside the namespace, and a link that can go down
/// (<see cref="SleepAsync"/>: connections hang like to a powered-off machine) and come back (<see cref="WakeAsync"/>).
/// Disposing kills what it started and destroys namespace, veth and engine, also after a failed test.
/// </summary>
public sealed class GpuBoxHost : IAsyncDisposable
{
    private static readonly TimeSpan ScriptTimeout = TimeSpan.FromSeconds(60);
    private readonly List<RunningProcess> _processes = [];
    private int _disposed;

    private GpuBoxHost(string name, string @namespace, IPAddress hostAddress, IPAddress boxAddress)
    {
        Name = name;
        Namespace = @namespace;
        HostAddress = hostAddress;
        BoxAddress = boxAddress;
    }

    /// <summary>The rig script, copied beside this assembly.</summary>
    public static string ScriptPath { get; } = Path.Combine(AppContext.BaseDirectory, "gpubox-rig.sh");

    public string Name { get; }

    public string Namespace { get; }

    /// <summary>The always-on box's end of the link (this machine).</summary>
    public IPAddress HostAddress { get; }

    /// <summary>The GPU box's address: the only non-loopback address a test sends traffic to.</summary>
    public IPAddress BoxAddress { get; }

    /// <summary>The box's Docker engine endpoint once <see cref="StartDockerAsync"/> ran, e.g. <c>unix:///run/gpubox-rig/NAME/docker.sock</c>.</summary>
    public string? DockerHost { get; private set; }

    public Uri BoxUri(int port) => new($"http://{BoxAddress}:{port.ToString(CultureInfo.InvariantCulture)}/");

    /// <summary>
    /// Brings up a rig named <paramref name="name"/> (default: unique per call). Fails under CI=true, skips
    /// elsewhere, without root, iproute2 or nsenter. Rigs of test runs that died are reaped first.
    /// </summary>
    public static async Task<GpuBoxHost> CreateAsync(string? name = null, CancellationToken cancellationToken = default)
    {
        RequiredPart.Require(Environment.IsPrivilegedProcess && Command.Exists("ip") && Command.Exists("nsenter"),
            "root with iproute2 and nsenter (a network-namespace GPU box)");
        name ??= string.Create(CultureInfo.InvariantCulture, $"t{Environment.ProcessId}-{Guid.NewGuid().ToString("N")[..6]}");
        await RunScriptAsync(["reap"], cancellationToken);
        var up = await RunScriptAsync(["-n", name, "up"], cancellationToken);
        if (!up.Ok)
        {
            throw new InvalidOperationException($"gpubox-rig up failed: {up.Describe()}");
        }

        var fields = up.Stdout.Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries)
            .Select(f => f.Split('=', 2)).Where(p => p.Length == 2).ToDictionary(p => p[0], p => p[1]);
        return new GpuBoxHost(name, fields["netns"], IPAddress.Parse(fields["host"]), IPAddress.Parse(fields["box"]));
    }

    /// <summary>The box goes to sleep: its link goes down; open connections stall, new ones hang.</summary>
    public Task SleepAsync(CancellationToken cancellationToken = default) => CheckedAsync(["down"], cancellationToken);

    /// <summary>The box wakes: its link comes back up (what runs on it kept running, as after a suspend).</summary>
    public Task WakeAsync(CancellationToken cancellationToken = default) => CheckedAsync(["on"], cancellationToken);

    /// <summary><c>up</c>, <c>down</c> or <c>absent</c>.</summary>
    public async Task<string> StateAsync(CancellationToken cancellationToken = default) =>
        (await CheckedAsync(["state"], cancellationToken)).Trim();

    /// <summary>Runs a command on the box to completion (bounded by <paramref name="timeout"/>, default 60 s).</summary>
    public Task<CommandResult> ExecAsync(IEnumerable<string> command, TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        RunScriptAsync(["-n", Name, "exec", .. command], cancellationToken, timeout);

    /// <summary>
    /// Starts <paramref name="start"/>'s program on the box (its file, arguments and environment; output is
    /// captured). The process is killed, with its children, when the box is disposed.
    /// </summary>
    public RunningProcess StartProcess(ProcessStartInfo start)
    {
        var info = new ProcessStartInfo("bash") { WorkingDirectory = start.WorkingDirectory };
        foreach (var argument in (string[])[ScriptPath, "-n", Name, "exec", start.FileName, .. start.ArgumentList])
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in start.Environment)
        {
            info.Environment[key] = value;
        }

        var process = RunningProcess.Start(info, Path.GetFileName(start.FileName));
        lock (_processes)
        {
            _processes.Add(process);
        }

        return process;
    }

    /// <summary>Starts the box's own Docker engine inside the namespace; containers it runs with <c>--network host</c> are on the box.</summary>
    public async Task<string> StartDockerAsync(CancellationToken cancellationToken = default)
    {
        RequiredPart.Require(Command.Exists("dockerd") && Command.Exists("docker"), "dockerd and the docker CLI (the GPU box's Docker engine)");
        var output = await CheckedAsync(["docker"], cancellationToken);
        DockerHost = output.Split('\n').Select(l => l.Trim()).Single(l => l.StartsWith("docker_host=", StringComparison.Ordinal))["docker_host=".Length..];
        return DockerHost;
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        RunningProcess[] started;
        lock (_processes)
        {
            started = [.. _processes];
        }

        foreach (var process in started)
        {
            await process.DisposeAsync();
        }

        // Last: the engine, then whatever is still in the namespace, then namespace and veth.
        var destroy = await RunScriptAsync(["-n", Name, "destroy"], CancellationToken.None);
        if (!destroy.Ok)
        {
            throw new InvalidOperationException($"gpubox-rig destroy left rig '{Name}' behind: {destroy.Describe()}");
        }
    }

    private async Task<string> CheckedAsync(string[] verb, CancellationToken cancellationToken)
    {
        var result = await RunScriptAsync(["-n", Name, .. verb], cancellationToken);
        return result.Ok ? result.Stdout : throw new InvalidOperationException($"gpubox-rig {string.Join(' ', verb)} failed: {result.Describe()}");
    }

    // The owner recorded at "up": a later run reaps this rig when this test process is gone.
    private static Task<CommandResult> RunScriptAsync(IEnumerable<string> arguments, CancellationToken cancellationToken, TimeSpan? timeout = null) =>
        Command.RunAsync("env", [$"GPUBOX_OWNER_PID={Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}", "bash", ScriptPath, .. arguments],
            timeout ?? ScriptTimeout, cancellationToken: cancellationToken);
}
