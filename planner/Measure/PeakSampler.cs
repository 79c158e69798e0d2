namespace GpuSplit.Planner.Measure;

/// <summary>
/// Reads a probe on its own thread at the probe's interval while a model loads and runs, keeping the highest
/// reading of the current phase: memory that a layer holds only for a moment is gone by the time the run returns.
/// </summary>
public sealed class PeakSampler : IDisposable
{
    private readonly IMemoryProbe probe;
    private readonly Thread thread;
    private readonly Lock gate = new();
    private volatile bool stopping;
    private volatile Exception? failure;
    private int phase;
    private long peakProcess;
    private long? peakDevice;

    public PeakSampler(IMemoryProbe probe)
    {
        this.probe = probe;
        Observe(probe.Read(), phase);
        thread = new Thread(Loop) { IsBackground = true, Name = "memory sampler", Priority = ThreadPriority.AboveNormal };
        thread.Start();
    }

    /// <summary>The highest reading since the sampler started or the last <see cref="StartPhase"/>.</summary>
    /// <exception cref="MeasureException">A reading on the sampling thread failed (e.g. the GPU fell off the bus).</exception>
    public MemoryReading Peak
    {
        get
        {
            if (failure is { } e)
            {
                throw e as MeasureException ?? new MeasureException($"reading memory failed: {e.Message}", e);
            }

            lock (gate)
            {
                return new MemoryReading(peakProcess, peakDevice);
            }
        }
    }

    /// <summary>Takes one reading now (a phase boundary), counts it towards the peak, and returns it.</summary>
    public MemoryReading ReadNow()
    {
        var current = Volatile.Read(ref phase);
        var reading = probe.Read();
        Observe(reading, current);
        return reading;
    }

    /// <summary>Starts a new phase whose peak begins at <paramref name="start"/>; readings begun before it do not count.</summary>
    public void StartPhase(MemoryReading start)
    {
        lock (gate)
        {
            phase++;
            peakProcess = start.ProcessBytes;
            peakDevice = start.DeviceBytes;
        }
    }

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
                var current = Volatile.Read(ref phase);
                Observe(probe.Read(), current);
            }
        }
        catch (Exception e)
        {
            // Kept for Peak to report: an exception escaping this thread would end the whole process.
            failure = e;
        }
    }

    private void Observe(MemoryReading reading, int readingPhase)
    {
        lock (gate)
        {
            if (readingPhase != phase)
            {
                return;
            }

            peakProcess = Math.Max(peakProcess, reading.ProcessBytes);
            if (reading.DeviceBytes is { } device)
            {
                peakDevice = Math.Max(peakDevice ?? 0, device);
            }
        }
    }
}
