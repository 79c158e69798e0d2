using GpuSplit.Agent.Status;
using GpuSplit.MlService.Logs;

namespace GpuSplit.Agent.Watchdog;

/// <summary>
/// CUDA ran out of memory inside the worker. The process lives on but keeps its VRAM and fails every request until
/// it restarts (Immich issue 11979): restart.
/// </summary>
public sealed class CudaOomLogPolicy : IFailurePolicy
{
    public FailureVerdict? Classify(WorkerSignal signal) => signal is LogLine line && MlLogLines.CudaOutOfMemory.Match(line.Text) is { } quote
        ? new FailureVerdict(FailureKind.CudaOom, $"CUDA out of memory seen in logs: {quote}", FailureAction.Restart)
        : null;
}
