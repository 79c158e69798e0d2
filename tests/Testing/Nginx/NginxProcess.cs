using System.Diagnostics;

namespace GpuSplit.Testing.Nginx;

/// <summary>What every nginx a test or benchmark starts in the foreground needs at the end.</summary>
public static class NginxProcess
{
    /// <summary>
    /// A whole config whose pid, error log and temp folders are in <paramref name="folder"/>, so several nginx run side
    /// by side; <paramref name="http"/> is the http block's own directives (servers, upstreams).
    /// </summary>
    public static string Config(string folder, string workerProcesses, string http) => $$"""
        worker_processes {{workerProcesses}};
        pid {{folder}}/nginx.pid;
        error_log {{folder}}/error.log warn;
        events { worker_connections 1024; }
        http {
            access_log off;
            client_body_temp_path {{folder}}/client_body;
            proxy_temp_path {{folder}}/proxy;
            fastcgi_temp_path {{folder}}/fastcgi;
            uwsgi_temp_path {{folder}}/uwsgi;
            scgi_temp_path {{folder}}/scgi;
        {{string.Join('\n', http.Split('\n').Select(line => "    " + line))}}
        }
        """;

    /// <summary>Kills nginx with its workers (a worker outlives a master killed alone) and deletes its folder.</summary>
    public static async ValueTask StopAsync(Process process, string folder)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await process.WaitForExitAsync(deadline.Token);
            }
        }
        catch (InvalidOperationException)
        {
        }
        finally
        {
            process.Dispose();
            try
            {
                Directory.Delete(folder, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }
}
