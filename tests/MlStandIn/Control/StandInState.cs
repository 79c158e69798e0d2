namespace GpuSplit.MlStandIn.Control;

/// <summary>What the control API has switched on; read by the HTTP handlers.</summary>
public sealed class StandInState
{
    private int _predictCount;

    public TimeSpan PredictDelay { get; set; }

    public bool PingFails { get; set; }

    /// <summary>
    /// Set after a CUDA error was printed: like the real worker, the process stays up but every /predict fails
    /// until the container is restarted (Immich issue 11979).
    /// </summary>
    public string? StuckError { get; set; }

    public int PredictCount => Volatile.Read(ref _predictCount);

    public void CountPredict() => Interlocked.Increment(ref _predictCount);
}
