namespace GpuSplit.Planner.Memory;

/// <summary>One component's share of the estimate, every term named.</summary>
public sealed record ComponentEstimate(
    ComponentLoad Load,
    int Concurrency,
    long WeightsBytes,
    long ActivationBytes,
    long RatchetBytes)
{
    public long TotalBytes => WeightsBytes + ActivationBytes + RatchetBytes;
}

/// <summary>
/// The predicted peak VRAM of Immich's ML workers on one GPU, with every term named so the estimate explains
/// itself (the way Ollama's MemoryEstimate does). Per-worker terms are multiplied by the workers: each worker
/// is a process with its own context and its own copy of every model.
/// </summary>
public sealed record MemoryEstimate(
    int Workers,
    long ContextBytesPerWorker,
    long ReserveBytes,
    IReadOnlyList<ComponentEstimate> Components)
{
    public long ContextBytes => ContextBytesPerWorker * Workers;

    public long WeightsBytes => Components.Sum(c => c.WeightsBytes) * Workers;

    public long ActivationBytes => Components.Sum(c => c.ActivationBytes) * Workers;

    public long RatchetBytes => Components.Sum(c => c.RatchetBytes) * Workers;

    public long ModelBytesPerWorker => Components.Sum(c => c.TotalBytes);

    public long PeakBytes => ReserveBytes + ContextBytes + WeightsBytes + ActivationBytes + RatchetBytes;
}
