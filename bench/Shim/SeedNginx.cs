using System.Diagnostics;
using System.Globalization;

namespace GpuSplit.Bench.Shim;

/// <summary>
/// The seed story's nginx shim, exactly its upstream block and timeouts, in a foreground nginx with its own
/// files. Access logging is off so that nginx, like the shim, writes nothing per request.
/// </summary>
public sealed class SeedNginx : IAsyncDisposable
{
    private readonly Process _process;
    private readonly DirectoryInfo _folder;

    private SeedNginx(Process process, DirectoryInfo folder, int port)
    {
        _process = process;
        _folder = folder;
        Address = new Uri($"http://127.0.0.1:{port}");
    }

    public Uri Address { get; }

    public Resident Memory => LocalProcesses.Memory(_process.Id, withChildren: true);

    public static async Task<SeedNginx> StartAsync(Uri upstream, CancellationToken cancellationToken)
    {
        var folder = Directory.CreateTempSubdirectory("bench-nginx-");
        // Workers drop root to nobody and must be able to spool request bodies (proxy_request_buffering).
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(folder.FullName, (UnixFileMode)0x1FF);
        }
        var port = LocalProcesses.FreePort();
        var config = Path.Combine(folder.FullName, "nginx.conf");
        var f = folder.FullName;
        await File.WriteAllTextAsync(config, $$"""
            worker_processes auto;
            pid {{f}}/nginx.pid;
            error_log {{f}}/error.log warn;
            events { worker_connections 1024; }
            http {
              access_log off;
              client_body_temp_path {{f}}/client_body;
              proxy_temp_path {{f}}/proxy;
              fastcgi_temp_path {{f}}/fastcgi;
              uwsgi_temp_path {{f}}/uwsgi;
              scgi_temp_path {{f}}/scgi;

              # The seed story's shim, verbatim but for the addresses.
              upstream immich_ml {
                server {{upstream.Authority}} max_fails=3 fail_timeout=30s;
              }
              server {
                listen 127.0.0.1:{{port.ToString(CultureInfo.InvariantCulture)}};
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
            }
            """, cancellationToken);
        var start = new ProcessStartInfo("nginx") { UseShellExecute = false, RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var argument in new[] { "-c", config, "-g", "daemon off;" })
        {
            start.ArgumentList.Add(argument);
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("nginx did not start");
        await LocalProcesses.WaitForPortAsync(port, cancellationToken);
        return new SeedNginx(process, folder, port);
    }

    public ValueTask DisposeAsync()
    {
        LocalProcesses.Stop(_process);
        _process.Dispose();
        _folder.Delete(recursive: true);
        return ValueTask.CompletedTask;
    }
}
