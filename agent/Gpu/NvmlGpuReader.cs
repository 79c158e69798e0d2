using GpuSplit.Nvml;

namespace GpuSplit.Agent.Gpu;

/// <summary>
/// The GPUs through NVML (the nvml/ binding). Opens the library at the first read and again after any failure, so
/// a driver that comes up after the agent, or a GPU that falls off the bus and returns, is picked up again.
/// </summary>
public sealed class NvmlGpuReader(string? libraryPath) : IGpuReader, IDisposable
{
    private NvmlLibrary? _nvml;

    public IReadOnlyList<GpuDeviceReading> Read()
    {
        try
        {
            _nvml ??= NvmlLibrary.Open(string.IsNullOrEmpty(libraryPath) ? null : libraryPath);
            return [.. _nvml.ReadAll().Select(ToReading)];
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

    private static GpuDeviceReading ToReading(GpuSnapshot gpu) => new(
        (uint)gpu.Index,
        gpu.Name,
        gpu.Uuid,
        gpu.Memory.TotalBytes,
        gpu.Memory.UsedBytes,
        gpu.Memory.FreeBytes,
        gpu.Utilization?.GpuPercent ?? 0,
        gpu.Utilization?.MemoryPercent ?? 0,
        gpu.TemperatureCelsius ?? 0,
        gpu.PowerMilliwatts ?? 0,
        gpu.ComputeCapability.Major,
        gpu.ComputeCapability.Minor,
        // Windows (WDDM) cannot tell a process's memory: counted as 0, so contention reads low there, never high.
        [.. gpu.Processes.Select(p => new GpuProcessReading(p.Pid, p.UsedMemoryBytes ?? 0))]);
}
