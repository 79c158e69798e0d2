namespace GpuSplit.Planner.Measure;

/// <summary>
/// Reads a probe on its own thread at the probe's interval while a model loads and runs, keeping the highest
/// reading: memory that a layer holds only for a moment is gone by the time the run returns.
/// </summary>
public sealed class PeakSampler : IDisposable
{
    private readonly IMemoryProbe probe;
    private readonly Thread thread;
    private volatile bool stopping;
    private volatile Exception? failure;
    private long peakProcess;
    private long peakDevice = -1;

    public PeakSampler(IMemoryProbe probe)
    {
        this.probe = probe;
        Observe(probe.Read());
        thread = new Thread(Loop) { IsBackground = true, Name = "memory sampler", Priority = ThreadPriority.AboveNormal };
        thread.Start();
    }

    /// <summary>Takes one reading now (a phase boundary), counts it towards the peak, and returns it.</summary>
    public MemoryReading ReadNow()
    {
        var reading = probe.Read();
        Observe(reading);
        return reading;
    }

    /// <exception cref="MeasureException">A reading on the sampling thread failed (e.g. the GPU fell off the bus).</exception>
    public MemoryReading Peak => failure is { } e
        ? throw new MeasureException($"reading memory failed: {e.Message}", e)
        : new(Interlocked.Read(ref peakProcess), Interlocked.Read(ref peakDevice) is var d and >= 0 ? d : null);

    public void Dispose()
    {
        stopping = true;
        thread.Join();
    }

    private void Loop()
    {
        try
        {
            while (!stopping)
            {
                Thread.Sleep(probe.SampleInterval);
                Observe(probe.Read());
            }
        }
        catch (Exception e)
        {
            // Kept for Peak to report: an exception escaping this thread would end the whole process.
            failure = e;
        }
    }

    private void Observe(MemoryReading reading)
    {
        Max(ref peakProcess, reading.ProcessBytes);
        if (reading.DeviceBytes is { } device)
        {
            Max(ref peakDevice, device);
        }
    }

    private static void Max(ref long target, long value)
    {
        for (var current = Interlocked.Read(ref target); value > current; current = Interlocked.Read(ref target))
        {
            if (Interlocked.CompareExchange(ref target, value, current) == current)
            {
                return;
            }
        }
    }
}
