using GpuSplit.Nvml;

namespace GpuSplit.Agent.Gpu;

/// <summary>
/// The GPUs through NVML (the nvml/ binding). Opens the library at the first read and again after any failure, so
/// a driver that comes up after the agent, or a GPU that falls off the bus and returns, is picked up again.
/// </summary>
public sealed class NvmlGpuReader(string? libraryPath) : IGpuReader, IDisposable
{
    private NvmlLibrary? _nvml;

    public IReadOnlyList<GpuSnapshot> Read()
    {
        try
        {
            _nvml ??= NvmlLibrary.Open(string.IsNullOrEmpty(libraryPath) ? null : libraryPath);
            return _nvml.ReadAll();
        }
        catch (NvmlException error)
        {
            Dispose();
            throw new GpuUnavailableException(error.Message, error);
        }
        catch (InvalidOperationException error)
        {
            // Another NVML library is already bound in this process (one process, one NVML): a configuration error.
            Dispose();
            throw new GpuUnavailableException(error.Message, error);
        }
    }

    public void Dispose()
    {
        _nvml?.Dispose();
        _nvml = null;
    }
}
