using GpuSplit.Agent.Status;

namespace GpuSplit.Agent.Watchdog;

/// <summary>
/// CUDA ran out of memory inside the worker. The process lives on but keeps its VRAM and fails every request until
/// it restarts (Immich issue 11979): restart.
/// </summary>
public sealed class CudaOomLogPolicy : IFailurePolicy
{
    // ONNX Runtime's words: the CUDA allocator, cuBLAS, and the BFC arena that holds each session's memory.
    private static readonly LogPatterns Patterns = new(
        "out of memory",
        "CUBLAS_STATUS_ALLOC_FAILED",
        "Failed to allocate memory for requested buffer",
        "BFCArena::AllocateRawInternal",
        "BFCArena::Extend",
        "cudaErrorMemoryAllocation");

    public FailureVerdict? Classify(WorkerSignal signal) => signal is LogLine line && Patterns.Match(line.Text) is { } quote
        ? new FailureVerdict(FailureKind.CudaOom, $"CUDA out of memory seen in logs: {quote}", FailureAction.Restart)
        : null;
}
