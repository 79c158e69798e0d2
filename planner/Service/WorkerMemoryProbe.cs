using GpuSplit.Nvml;
using GpuSplit.Planner.Measure;

namespace GpuSplit.Planner.Service;

/// <summary>The GPU the worker ran on, as NVML names it: the measurements file's key.</summary>
public sealed record WorkerGpu(string Name, long TotalBytes);

/// <summary>
/// The ML container's GPU memory through NVML: the used memory of every compute process whose host pid is one of the
/// container's (Docker's <c>top</c>), and the used memory of the card it is on. A worker that has not loaded a model
/// has no CUDA context and is not listed: zero.
/// </summary>
public sealed class WorkerMemoryProbe(NvmlLibrary nvml) : IMemoryProbe
{
    private volatile IReadOnlySet<uint> _pids = new HashSet<uint>();
    private volatile WorkerGpu? _gpu;

    public string Method =>
        $"GPU memory of the ML container's processes (NVML per-process used memory, host pids from Docker), and the card's; sampled every {SampleInterval.TotalMilliseconds:0} ms";

    /// <summary>Immich's requests take tens of milliseconds at least; NVML's process list is not free to ask for.</summary>
    public TimeSpan SampleInterval => TimeSpan.FromMilliseconds(100);

    /// <summary>The card the worker was last seen on; null until it holds GPU memory.</summary>
    public WorkerGpu? Gpu => _gpu;

    /// <summary>The container's host pids: after every restart, a new worker process has new ones.</summary>
    public void Watch(IReadOnlySet<uint> pids) => _pids = pids;

    /// <exception cref="MeasureException">NVML failed, or the driver cannot tell a process's memory (Windows WDDM).</exception>
    public MemoryReading Read()
    {
        var pids = _pids;
        try
        {
            long worker = 0;
            long? device = null;
            for (var index = 0; index < nvml.DeviceCount; index++)
            {
                var gpu = nvml.GetDevice(index);
                var mine = gpu.GetComputeProcesses().Where(p => pids.Contains(p.Pid)).ToList();
                if (mine.Count == 0)
                {
                    continue;
                }

                if (mine.Any(p => p.UsedMemoryBytes is null))
                {
                    throw new MeasureException("NVML does not tell a process's GPU memory on this system (Windows WDDM); the service cannot be measured here");
                }

                var memory = gpu.GetMemory();
                worker += mine.Sum(p => (long)p.UsedMemoryBytes!.Value);
                device = (device ?? 0) + (long)memory.UsedBytes;
                _gpu ??= new WorkerGpu(gpu.GetName(), (long)memory.TotalBytes);
            }

            return new MemoryReading(worker, device);
        }
        catch (NvmlException e)
        {
            throw new MeasureException($"reading GPU memory failed: {e.Message}", e);
        }
    }
}
