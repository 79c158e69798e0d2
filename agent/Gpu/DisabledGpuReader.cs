using GpuSplit.Nvml;

namespace GpuSplit.Agent.Gpu;

/// <summary>Agent:Gpu:Enabled=false: a box without an NVIDIA card; the worker is still watched.</summary>
public sealed class DisabledGpuReader : IGpuReader
{
    public IReadOnlyList<GpuSnapshot> Read() =>
        throw new GpuUnavailableException("GPU reading is disabled (Agent:Gpu:Enabled=false)");
}
