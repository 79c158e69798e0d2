using GpuSplit.Agent.Hosting;
using GpuSplit.Agent.Status;
using Microsoft.Extensions.Options;

namespace GpuSplit.Agent.Watchdog;

/// <summary>
/// The card stayed nearly full while the worker served. ONNX Runtime's arenas never shrink, so this is often normal
/// and sometimes another program's doing: report it; restart only when Agent:Watchdog:RestartOnVramExhausted says so.
/// </summary>
public sealed class VramExhaustedPolicy(IOptions<AgentOptions> options) : IFailurePolicy
{
    public FailureVerdict? Classify(WorkerSignal signal) => signal is VramExhausted exhausted
        ? new FailureVerdict(FailureKind.VramExhausted, exhausted.Description,
            options.Value.Watchdog.RestartOnVramExhausted ? FailureAction.Restart : FailureAction.Report)
        : null;
}
