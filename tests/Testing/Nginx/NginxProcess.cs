using System.Diagnostics;

namespace GpuSplit.Testing.Nginx;

/// <summary>What every nginx a test or benchmark starts in the foreground needs at the end.</summary>
public static class NginxProcess
{
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
