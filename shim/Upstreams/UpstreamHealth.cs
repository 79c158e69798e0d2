namespace GpuSplit.Shim.Upstreams;

/// <summary>How much a GPU box can be counted on right now.</summary>
public enum UpstreamCondition
{
    /// <summary>The agent says serving (or, with the agent away, the ML service answers its ping): work goes there.</summary>
    Serving,

    /// <summary>Away or recovering (asleep, restarting, starting): background work waits for it.</summary>
    Transient,

    /// <summary>Waiting cannot help (the card is unsupported, the worker crash-loops): refuse at once.</summary>
    Lasting,
}

/// <summary>One GPU box's condition, the word a person reads for it, why, and since when.</summary>
public sealed record UpstreamHealth(UpstreamCondition Condition, string State, string Reason, DateTimeOffset Since)
{
    /// <summary>Same condition, state and reason: nothing a client or a person needs to hear about.</summary>
    public bool SameAs(UpstreamHealth other) =>
        Condition == other.Condition && State == other.State && Reason == other.Reason;
}

/// <summary>The words the status page, the badge, the JSON and the metrics use for a box's state.</summary>
public static class HostStates
{
    public const string Online = "online";
    public const string Connecting = "connecting";
    public const string CheckingMl = "checking-ml";
    public const string AgentUnreachable = "agent-unreachable";
    public const string Asleep = "asleep";
    public const string GoingToSleep = "going-to-sleep";
    public const string Starting = "starting";
    public const string Restarting = "restarting";
    public const string NotServing = "not-serving";
    public const string WorkerStopped = "worker-stopped";
    public const string WorkerMissing = "worker-missing";
    public const string DockerUnavailable = "docker-unavailable";
    public const string MlUnreachable = "ml-unreachable";
    public const string MlFailing = "ml-failing";
    public const string Unsupported = "unsupported";
    public const string CrashLooping = "crash-looping";
}
