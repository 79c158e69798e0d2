using GpuSplit.Nvml;

namespace GpuSplit.Agent.Gpu;

/// <summary>Reads the GPUs once. Throws <see cref="GpuUnavailableException"/> when they cannot be read, with why.</summary>
public interface IGpuReader
{
    IReadOnlyList<GpuSnapshot> Read();
}

/// <summary>NVML cannot be used (no driver, no GPU, disabled); the message says which, for the status.</summary>
public sealed class GpuUnavailableException : Exception
{
    public GpuUnavailableException(string message)
        : base(message)
    {
    }

    public GpuUnavailableException(string message, Exception inner)
        : base(message, inner)
    {
    }

    public GpuUnavailableException()
    {
    }
}
