namespace GpuSplit.Planner.Measure;

/// <summary>One reading: the measured process's memory, and the whole device's where there is one (a GPU).</summary>
public readonly record struct MemoryReading(long ProcessBytes, long? DeviceBytes);

/// <summary>Reads the memory the measured models live in: host memory for the CPU, VRAM for a GPU.</summary>
public interface IMemoryProbe
{
    /// <summary>What the figures are and how they are read, in words for the measurements file.</summary>
    string Method { get; }

    /// <summary>How often to read while a model runs, to catch a peak the final reading would miss.</summary>
    TimeSpan SampleInterval { get; }

    MemoryReading Read();
}
