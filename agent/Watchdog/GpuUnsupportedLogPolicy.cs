using GpuSplit.Agent.Status;
using GpuSplit.MlService.Logs;

namespace GpuSplit.Agent.Watchdog;

/// <summary>
/// The image's CUDA kernels were not built for this card (a Pascal GTX 1060 with an image built for 7.5+): every
/// restart would fail the same way. Never restart; report gpu-unsupported with the line.
/// </summary>
public sealed class GpuUnsupportedLogPolicy : IFailurePolicy
{
    private static readonly LogPatterns Patterns = new(
        "no kernel image is available for execution on the device",
        "cudaErrorNoKernelImageForDevice");

    public FailureVerdict? Classify(WorkerSignal signal) => signal is LogLine line && Patterns.Match(line.Text) is { } quote
        ? new FailureVerdict(FailureKind.GpuUnsupported, quote, FailureAction.NeverRestart)
        : null;
}
