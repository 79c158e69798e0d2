namespace GpuSplit.Agent.Status;

/// <summary>Why the worker failed; each kind has its own answer (docs/agent.md). Mirrors FailureClass in agent.proto.</summary>
public enum FailureKind
{
    HostOomKilled,
    Exited,
    CudaOom,
    VramExhausted,
    GpuUnsupported,
    CrashLooping,
    Operator,
}

/// <summary>One failure as reported: its kind, a sentence a person can read, when, and whether the agent restarted.</summary>
public sealed record FailureRecord(FailureKind Kind, string Reason, DateTimeOffset At, bool Restarted);
