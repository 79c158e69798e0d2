using GpuSplit.Nvml;
using GpuSplit.Planner.Measure;

namespace GpuSplit.PlannerMeasure.Probes;

/// <summary>
/// VRAM through NVML: this process's used memory on the device (what nvidia-smi lists for it), and the device's
/// used memory. Where NVML does not list this process with a figure (inside a container NVML shows the host's
/// pids; Windows WDDM reports no per-process memory), the process's memory is the device's growth since the
/// probe was created, which is right as long as nothing else allocates on the card meanwhile; <see cref="Method"/>
/// then says so.
/// </summary>
public sealed class NvmlMemoryProbe : IMemoryProbe
{
    private readonly NvmlDevice device;
    private readonly uint pid;
    private readonly long usedAtStart;
    private volatile bool deviceFallback;

    public NvmlMemoryProbe(NvmlDevice device, int pid)
    {
        this.device = device;
        this.pid = (uint)pid;
        usedAtStart = (long)device.GetMemory().UsedBytes;
    }

    public string Method => deviceFallback
        ? $"GPU memory: the device's used memory (nvmlDeviceGetMemoryInfo) minus what it used before the planner started CUDA; NVML did not list this process's own memory; sampled every {SampleInterval.TotalMilliseconds:0} ms"
        : $"GPU memory: this process's used memory (nvmlDeviceGetComputeRunningProcesses), and the device's; sampled every {SampleInterval.TotalMilliseconds:0} ms";

    /// <summary>Listing the processes costs more than reading a /proc file; 10 ms still sees any layer of a large model.</summary>
    public TimeSpan SampleInterval => TimeSpan.FromMilliseconds(10);

    /// <exception cref="MeasureException">NVML failed (the card fell off the bus, the driver went away).</exception>
    public MemoryReading Read()
    {
        long used;
        GpuProcess? own;
        try
        {
            used = (long)device.GetMemory().UsedBytes;
            own = device.GetComputeProcesses().FirstOrDefault(p => p.Pid == pid);
        }
        catch (NvmlException e)
        {
            throw new MeasureException($"reading GPU memory failed: {e.Message}", e);
        }

        if (own?.UsedMemoryBytes is { } bytes)
        {
            return new MemoryReading((long)bytes, used);
        }

        // Before the CUDA context exists the process is not listed and the device has not grown: zero either way.
        var growth = Math.Max(0, used - usedAtStart);
        deviceFallback |= growth > 0;
        return new MemoryReading(growth, used);
    }
}
