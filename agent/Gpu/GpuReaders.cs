using GpuSplit.Agent.Hosting;

namespace GpuSplit.Agent.Gpu;

/// <summary>Chooses the GPU reader from configuration.</summary>
public static class GpuReaders
{
    public static IGpuReader Create(GpuOptions options) =>
        options.Enabled ? new NvmlGpuReader(options.NvmlLibrary) : new DisabledGpuReader();
}
