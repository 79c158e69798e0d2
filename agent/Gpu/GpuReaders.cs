using GpuSplit.Agent.Hosting;

namespace GpuSplit.Agent.Gpu;

/// <summary>Chooses the GPU reader from configuration.</summary>
public static class GpuReaders
{
    // The NVML reader is wired in when the binding (nvml/) lands on main.
    public static IGpuReader Create(GpuOptions options) => new DisabledGpuReader();
}
