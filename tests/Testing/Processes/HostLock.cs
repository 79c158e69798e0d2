namespace GpuSplit.Testing.Processes;

/// <summary>
/// A machine-wide lock (an exclusively opened file in the temp folder) for set-up that concurrent test runs of
/// several developers must not do twice at once. The OS releases it if the holder dies.
/// </summary>
public sealed class HostLock : IDisposable
{
    private readonly FileStream _file;

    private HostLock(FileStream file) => _file = file;

    public static async Task<HostLock> AcquireAsync(string name, TimeSpan timeout)
    {
        var path = Path.Combine(Path.GetTempPath(), name);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (true)
        {
            try
            {
                return new HostLock(new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
            }
            catch (IOException) when (clock.Elapsed < timeout)
            {
                await Task.Delay(200);
            }
        }
    }

    public void Dispose() => _file.Dispose();
}
