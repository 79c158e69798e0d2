using System.Diagnostics;
using System.Globalization;
using System.Text;
using GpuSplit.Testing.Network;
using GpuSplit.Testing.Nginx;

namespace GpuSplit.Bench.Shim;

/// <summary>
/// The GPU box's ML service for the load runs: its own nginx process on loopback that reads each request body whole
/// and answers every <c>/predict</c> with one fixed Immich-shaped JSON (a CLIP answer: the 512-float embedding as a
/// string, with the image's size) and <c>/ping</c> with "pong". Nothing of it runs in the benchmark's process, so its
/// CPU and GC do not mix with the client's or the proxy's, and it answers in microseconds: the proxy is what is timed.
/// </summary>
public sealed class FixedAnswerNginx : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _folder;

    private FixedAnswerNginx(Process process, string folder, int port)
    {
        _process = process;
        _folder = folder;
        Address = new Uri($"http://127.0.0.1:{port.ToString(CultureInfo.InvariantCulture)}/");
    }

    public Uri Address { get; }

    /// <summary>Immich's answer to a CLIP visual request (immich_ml/main.py): the embedding as a JSON string, and the image size.</summary>
    public static string Answer()
    {
        var random = new Random(1);
        var embedding = string.Join(',', Enumerable.Range(0, 512).Select(_ => ((random.NextDouble() - 0.5) / 5).ToString("0.00000000", CultureInfo.InvariantCulture)));
        return $$"""{"clip":"[{{embedding}}]","imageHeight":1440,"imageWidth":1920}""";
    }

    public static async Task<FixedAnswerNginx> StartAsync(CancellationToken cancellationToken)
    {
        var folder = Directory.CreateTempSubdirectory("bench-ml-nginx-").FullName;
        // The worker runs as nobody and must read the answer file.
        if (OperatingSystem.IsLinux())
        {
            File.SetUnixFileMode(folder, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
                | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        }
        await File.WriteAllTextAsync(Path.Combine(folder, "answer.json"), Answer(), Encoding.ASCII, cancellationToken);
        var port = FreePort.Next();
        // nginx's static files take no POST, and a config token holds at most 4 KiB (too little for the answer inline):
        // /predict answers 405, which error_page turns into a GET of the answer file with status 200. The body is read
        // and discarded first. Kept-alive connections stay open, as uvicorn keeps them.
        var config = NginxProcess.Config(folder, "1", $$"""
            keepalive_requests 1000000;
            keepalive_timeout 300s;
            client_max_body_size 64m;
            server {
                listen 127.0.0.1:{{port.ToString(CultureInfo.InvariantCulture)}} backlog=1024;
                location = /predict { error_page 405 =200 /answer.json; return 405; }
                location = /answer.json { internal; default_type application/json; root {{folder}}; }
                location = /ping { default_type text/plain; return 200 'pong'; }
            }
            """);
        var configPath = Path.Combine(folder, "nginx.conf");
        await File.WriteAllTextAsync(configPath, config, cancellationToken);
        var info = new ProcessStartInfo("/usr/sbin/nginx") { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "-p", folder + "/", "-e", Path.Combine(folder, "error.log"), "-c", configPath, "-g", "daemon off;" })
        {
            info.ArgumentList.Add(argument);
        }

        var nginx = new FixedAnswerNginx(Process.Start(info) ?? throw new InvalidOperationException("could not start nginx"), folder, port);
        try
        {
            await LocalProcesses.WaitForPortAsync(port, cancellationToken);
            return nginx;
        }
        catch
        {
            await nginx.DisposeAsync();
            throw;
        }
    }

    public ValueTask DisposeAsync() => NginxProcess.StopAsync(_process, _folder);
}
