using System.Globalization;
using GpuSplit.Testing.Processes;

namespace GpuSplit.Testing.Docker;

/// <summary>
/// A second dockerd of the test's own, with its own socket, data root and exec root in a temp folder, so a test
/// can make "the Docker daemon" go away (<see cref="StopAsync"/>: the socket disappears) and come back
/// (<see cref="StartAsync"/>: same data root, same containers) without disturbing the machine's daemon that other
/// developers use. Disposing stops it and deletes the folder.
/// </summary>
public sealed class PrivateDockerDaemon : IAsyncDisposable
{
    private readonly string _root;

    private PrivateDockerDaemon(string root)
    {
        _root = root;
        Engine = new DockerEngine("unix://" + SocketPath);
    }

    public string SocketPath => Path.Combine(_root, "docker.sock");

    public DockerEngine Engine { get; }

    public string LogPath => Path.Combine(_root, "dockerd.log");

    private const string Prefix = "gsdd-";

    private string PidFile => Path.Combine(_root, "docker.pid");

    private string OwnerFile => Path.Combine(_root, "owner.pid");

    /// <summary>Starts a private daemon and imports the empty image into it; fails or skips like <see cref="DockerEngine.MachineAsync"/>.</summary>
    public static async Task<PrivateDockerDaemon> StartNewAsync()
    {
        RequiredPart.Require(Command.Exists("dockerd") && Command.Exists("docker"), "dockerd (a second, private Docker engine)");
        await RemoveOrphansAsync();
        // Short path: the managed containerd's socket lives under the exec root and unix socket paths are limited to 108 bytes.
        var daemon = new PrivateDockerDaemon(Path.Combine("/tmp", Prefix + Guid.NewGuid().ToString("N")[..10]));
        Directory.CreateDirectory(daemon._root);
        await File.WriteAllTextAsync(daemon.OwnerFile, Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        try
        {
            await daemon.StartAsync();
            await daemon.Engine.EnsureEmptyImageAsync();
            return daemon;
        }
        catch
        {
            await daemon.DisposeAsync();
            throw;
        }
    }

    public async Task StartAsync()
    {
        var args = $"exec dockerd --iptables=false --bridge=none -H 'unix://{SocketPath}' --data-root '{_root}/data' "
            + $"--exec-root '{_root}/exec' --pidfile '{PidFile}' >>'{LogPath}' 2>&1";
        var start = await Command.RunAsync("setsid", ["-f", "sh", "-c", args], TimeSpan.FromSeconds(10));
        if (!start.Ok || !await DockerEngine.WaitUntilAnswersAsync(Engine, TimeSpan.FromSeconds(30)))
        {
            throw new InvalidOperationException($"private dockerd did not start: {start.Describe()}; log {LogPath}:\n{ReadLogTail()}");
        }
    }

    /// <summary>Stops the daemon with SIGTERM and waits until it is gone and its socket removed (at most 30 s).</summary>
    public async Task StopAsync()
    {
        if (!File.Exists(PidFile) || !int.TryParse(await File.ReadAllTextAsync(PidFile), NumberStyles.Integer, CultureInfo.InvariantCulture, out var pid))
        {
            return;
        }

        await Command.RunAsync("kill", ["-TERM", pid.ToString(CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(5));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while ((Directory.Exists($"/proc/{pid}") || File.Exists(SocketPath)) && clock.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(100);
        }

        if (Directory.Exists($"/proc/{pid}"))
        {
            await Command.RunAsync("kill", ["-KILL", pid.ToString(CultureInfo.InvariantCulture)], TimeSpan.FromSeconds(5));
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (await Engine.AnswersAsync())
            {
                var ids = await Engine.CliAsync("ps", "-aq");
                foreach (var id in ids.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries))
                {
                    await Engine.CliAsync("rm", "-f", id);
                }
            }

            await StopAsync();
        }
        finally
        {
            await UnmountLeftoversAsync();
            try
            {
                Directory.Delete(_root, recursive: true);
            }
            catch (IOException)
            {
                // A mount still busy: the folder is in /tmp and harmless; the test's outcome matters more.
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    /// <summary>Stops and removes the private daemons of test runs that died before disposing them (never a live run's).</summary>
    private static async Task RemoveOrphansAsync()
    {
        foreach (var root in Directory.GetDirectories("/tmp", Prefix + "*"))
        {
            var owner = Path.Combine(root, "owner.pid");
            if (File.Exists(owner) && int.TryParse(await File.ReadAllTextAsync(owner), out var pid) && !Directory.Exists($"/proc/{pid}"))
            {
                await new PrivateDockerDaemon(root).DisposeAsync();
            }
        }
    }

    // dockerd leaves its default network namespace (exec/netns/default, an nsfs mount) mounted after it stops.
    private async Task UnmountLeftoversAsync()
    {
        var mounts = File.ReadAllLines("/proc/self/mountinfo")
            .Select(line => line.Split(' '))
            .Where(fields => fields.Length > 4 && fields[4].StartsWith(_root + "/", StringComparison.Ordinal))
            .Select(fields => fields[4])
            .OrderByDescending(path => path.Length);
        foreach (var mount in mounts)
        {
            await Command.RunAsync("umount", ["-l", mount], TimeSpan.FromSeconds(10));
        }
    }

    private string ReadLogTail() =>
        File.Exists(LogPath) ? string.Join('\n', File.ReadAllLines(LogPath).TakeLast(20)) : "(no log)";
}
