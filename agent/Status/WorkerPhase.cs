namespace GpuSplit.Agent.Status;

/// <summary>What the worker is doing, derived from the facts (see <see cref="AgentSnapshot"/>); mirrors WorkerState in agent.proto.</summary>
public enum WorkerPhase
{
    Running,
    Starting,
    Restarting,
    Stopped,
    Missing,
    GpuUnsupported,
    CrashLooping,
    DockerUnavailable,
}
