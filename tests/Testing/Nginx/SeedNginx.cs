using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using GpuSplit.Testing.Network;

namespace GpuSplit.Testing.Nginx;

/// <summary>
/// The seed story's nginx shim, with its exact upstream block and timeouts, as the comparison anchor: a real nginx
/// in the foreground with its own config, pid, logs and temp folders in a temp folder, listening on a free loopback
/// port and proxying to the GPU box. Disposing stops it and deletes the folder.
/// </summary>
public sealed class SeedNginx : IAsyncDisposable
{
    /// <summary>What nginx logs each time a request waited out proxy_connect_timeout (3 s) against a sleeping box.</summary>
    public const string ConnectTimeoutLine = "upstream timed out (110: Connection timed out) while connecting to upstream";

    /// <summary>
    /// What nginx logs when the kernel gave up first: a powered-off machine on the same LAN answers no ARP, and after
    /// about 3 s of probes a connect fails with EHOSTUNREACH (a 502), racing nginx's own 3 s connect timeout (a 504).
    /// </summary>
    public const string NoRouteLine = "(113: No route to host) while connecting to upstream";

    /// <summary>What nginx logs when max_fails marked the only server down and a request found no upstream at all.</summary>
    public const string NoLiveUpstreamsLine = "no live upstreams while connecting to upstream";

    private readonly Process _process;
    private readonly string _folder;

    private SeedNginx(Process process, string folder, int port, string config)
    {
        _process = process;
        _folder = folder;
        Port = port;
        Config = config;
    }

    public int Port { get; }

    /// <summary>The master process (its workers are its children).</summary>
    public int ProcessId => _process.Id;

    /// <summary>Where Immich's ML URL points when nginx is the shim.</summary>
    public Uri BaseUri => new($"http://127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}/");

    /// <summary>The whole nginx.conf it runs with.</summary>
    public string Config { get; }

    public string ErrorLogPath => Path.Combine(_folder, "error.log");

    /// <summary>
    /// The seed's server and upstream blocks (seed-story.txt) with only the addresses changed: listen on
    /// <paramref name="listenPort"/> on loopback instead of :80, forward to the GPU box instead of gpu-box:3003.
    /// </summary>
    public static string SeedBlocks(string upstreamHost, int upstreamPort, int listenPort) => $$"""
        upstream immich_ml {
            server {{upstreamHost}}:{{upstreamPort.ToString(CultureInfo.InvariantCulture)}} max_fails=3 fail_timeout=30s;
        }
        server {
            listen 127.0.0.1:{{listenPort.ToString(CultureInfo.InvariantCulture)}};
            proxy_connect_timeout 3s;
            proxy_read_timeout 300s;
            proxy_send_timeout 300s;
            location / {
                proxy_pass http://immich_ml;
                proxy_set_header Host $host;
                proxy_set_header X-Real-IP $remote_addr;
                proxy_next_upstream error timeout http_502 http_503;
            }
        }
        """;

    /// <summary>Starts nginx in front of <paramref name="upstreamHost"/>:<paramref name="upstreamPort"/>; fails under CI, skips elsewhere, without nginx.</summary>
    /// <param name="workerProcesses">nginx's <c>worker_processes</c>: one in tests; <c>auto</c> (one per core, as in nginx's image) for throughput.</param>
    public static async Task<SeedNginx> StartAsync(string upstreamHost, int upstreamPort, CancellationToken cancellationToken = default, string workerProcesses = "1")
    {
        const string binary = "/usr/sbin/nginx";
        RequiredPart.Require(OperatingSystem.IsLinux() && File.Exists(binary), "nginx on Linux (the seed's shim, for comparison)");
        var folder = Directory.CreateTempSubdirectory("gpusplit-nginx-").FullName;
        // The workers run as nobody and must reach the temp folders nginx creates for them here.
        if (OperatingSystem.IsLinux())
        {
            File.SetUnixFileMode(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        }

        var port = FreePort.Next();
        // Written by the GpuSplit tests. Only the http block's server and upstream are the seed's; the rest gives this
        // nginx its own files so several can run side by side.
        var config = NginxProcess.Config(folder, workerProcesses, SeedBlocks(upstreamHost, upstreamPort, port));
        var configPath = Path.Combine(folder, "nginx.conf");
        await File.WriteAllTextAsync(configPath, config, cancellationToken);

        var info = new ProcessStartInfo(binary) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "-p", folder + "/", "-e", Path.Combine(folder, "error.log"), "-c", configPath, "-g", "daemon off;" })
        {
            info.ArgumentList.Add(argument);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start nginx");
        var nginx = new SeedNginx(process, folder, port, config);
        try
        {
            await nginx.WaitUntilListeningAsync(TimeSpan.FromSeconds(10), cancellationToken);
            return nginx;
        }
        catch
        {
            await nginx.DisposeAsync();
            throw;
        }
    }

    /// <summary>How many lines of the error log contain <paramref name="text"/> (e.g. <see cref="ConnectTimeoutLine"/>).</summary>
    public int CountErrorLog(string text) =>
        File.Exists(ErrorLogPath) ? ReadShared(ErrorLogPath).Count(line => line.Contains(text, StringComparison.Ordinal)) : 0;

    public ValueTask DisposeAsync() => NginxProcess.StopAsync(_process, _folder);

    private async Task WaitUntilListeningAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"nginx exited with {_process.ExitCode}: {await _process.StandardError.ReadToEndAsync(cancellationToken)} "
                    + string.Join('\n', File.Exists(ErrorLogPath) ? ReadShared(ErrorLogPath) : []));
            }

            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, Port, cancellationToken);
                return;
            }
            catch (SocketException) when (clock.Elapsed < timeout)
            {
                await Task.Delay(50, cancellationToken);
            }
        }
    }

    private static string[] ReadShared(string path)
    {
        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd().Split('\n');
    }
}
