using System.ComponentModel.DataAnnotations;
using GpuSplit.Agent.Power;
using GpuSplit.MlService.Docker;
using Microsoft.Extensions.Options;

namespace GpuSplit.Agent.Hosting;

/// <summary>
/// Everything the agent reads from configuration, section <c>Agent</c> (appsettings.json or <c>Agent__...</c>
/// environment variables). docs/agent.md lists every key with its default.
/// </summary>
public sealed class AgentOptions
{
    public const string Section = "Agent";

    /// <summary>Bearer token for calls that change anything (RestartWorker, Sleep). Unset: those calls are refused.</summary>
    public string? Token { get; set; }

    /// <summary>
    /// Bearer token for the read-only calls (GetStatus, WatchStatus, GetFootprints), which tell the worker's URL, its
    /// container and the GPU. Unset: they are open to anyone who can reach the port. <see cref="Token"/> is accepted too.
    /// </summary>
    public string? ReadToken { get; set; }

    /// <summary>How often the GPU is read and the worker pinged.</summary>
    [TimeSpanRange("00:00:00.050", "00:10:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The longest gap between WatchStatus messages. The shim counts a box whose agent misses a few of these as gone,
    /// so a link that went down is noticed in about a second, not after the transport's keep-alive timeout.
    /// </summary>
    [TimeSpanRange("00:00:00.050", "00:01:00")]
    public TimeSpan StatusHeartbeat { get; set; } = TimeSpan.FromMilliseconds(250);

    [ValidateObjectMembers]
    public WorkerOptions Worker { get; set; } = new();

    public GpuOptions Gpu { get; set; } = new();

    public DockerOptions Docker { get; set; } = new();

    [ValidateObjectMembers]
    public WatchdogOptions Watchdog { get; set; } = new();

    public MetricsOptions Metrics { get; set; } = new();

    /// <summary>How the box is put to sleep when the shim asks (Sleep); without a command Sleep is refused.</summary>
    [ValidateObjectMembers]
    public SleepOptions Sleep { get; set; } = new();

    /// <summary>Where the agent keeps what it learns (footprints.json); empty: /var/lib/gpusplit, or %ProgramData%\GpuSplit on Windows.</summary>
    public string? DataFolder { get; set; }

    [ValidateObjectMembers]
    public FootprintOptions Footprints { get; set; } = new();

    [ValidateObjectMembers]
    public EvidenceOptions Evidence { get; set; } = new();

    public string EffectiveDataFolder => string.IsNullOrEmpty(DataFolder)
        ? OperatingSystem.IsWindows()
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.CommonApplicationData), "GpuSplit")
            : "/var/lib/gpusplit"
        : DataFolder;
}

public sealed class FootprintOptions
{
    /// <summary>Observations kept in footprints.json; the oldest go first. About 400 bytes each.</summary>
    [Range(1, 100_000)]
    public int MaxObservations { get; set; } = 1000;
}

/// <summary>The field evidence the agent keeps for `planner fit --agent` (docs/agent.md, "Evidence").</summary>
public sealed class EvidenceOptions
{
    /// <summary>Records kept beside the footprints; the oldest go first.</summary>
    [Range(1, 10_000)]
    public int MaxRecords { get; set; } = 200;

    /// <summary>How long a worker must serve a set of models without a CUDA out-of-memory for the set to count as working.</summary>
    [TimeSpanRange("00:00:01", "30.00:00:00")]
    public TimeSpan WorksAfter { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// Immich's job concurrency (Administration, Job settings), when the operator tells it: the agent cannot see it.
    /// Unset: the records say it is unknown, and the planner does not assume one.
    /// </summary>
    [ValidateObjectMembers]
    public JobConcurrencySetting? Concurrency { get; set; }
}

/// <summary>Immich's concurrency of the three ML jobs; all three are needed.</summary>
public sealed class JobConcurrencySetting
{
    [Range(1, 64)]
    public int SmartSearch { get; set; }

    [Range(1, 64)]
    public int FaceDetection { get; set; }

    [Range(1, 64)]
    public int Ocr { get; set; }
}

public sealed class WorkerOptions
{
    /// <summary>The ML container's name: Immich's compose file calls it immich_machine_learning.</summary>
    [Required]
    [RegularExpression("^/?[a-zA-Z0-9][a-zA-Z0-9_.-]*$", ErrorMessage = "Agent:Worker:Container must be a Docker container name")]
    public string Container { get; set; } = "immich_machine_learning";

    /// <summary>Where the ML service answers; /ping is appended.</summary>
    [Required]
    public Uri Url { get; set; } = new("http://127.0.0.1:3003");

    /// <summary>Immich's own container health check gives /ping 2 s.</summary>
    [TimeSpanRange("00:00:00.100", "00:01:00")]
    public TimeSpan PingTimeout { get; set; } = TimeSpan.FromSeconds(2);
}

public sealed class GpuOptions
{
    /// <summary>False: do not load NVML at all (a box without an NVIDIA card); the worker is still watched.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The NVML library (a name or a path); empty means libnvidia-ml.so.1 on Linux and nvml.dll on Windows.</summary>
    public string? NvmlLibrary { get; set; }
}

public sealed class DockerOptions
{
    /// <summary>Empty means the platform's default: unix:///var/run/docker.sock, or npipe://./pipe/docker_engine on Windows.</summary>
    public Uri? Endpoint { get; set; }

    /// <summary>Pin an Engine API version (e.g. 1.41 for Engine 20.10). Empty: negotiate with the engine.</summary>
    public Version? ApiVersion { get; set; }

    public Uri EffectiveEndpoint => Endpoint ?? DockerConnection.DefaultEndpoint;
}

public sealed class WatchdogOptions
{
    /// <summary>GPU memory use, in percent of the card, above which the GPU counts as exhausted once sustained.</summary>
    [Range(1, 100)]
    public double VramThresholdPercent { get; set; } = 97;

    /// <summary>How long memory must stay above the threshold, while the worker serves, to count.</summary>
    [TimeSpanRange("00:00:00", "01:00:00")]
    public TimeSpan VramWindow { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Restart the worker when the GPU is exhausted (default: only report it).</summary>
    public bool RestartOnVramExhausted { get; set; }

    /// <summary>Restarts within <see cref="CrashLoopWindow"/> after which the agent backs off.</summary>
    [Range(1, 1000)]
    public int CrashLoopRestarts { get; set; } = 5;

    [TimeSpanRange("00:00:01", "1.00:00:00")]
    public TimeSpan CrashLoopWindow { get; set; } = TimeSpan.FromMinutes(10);

    [TimeSpanRange("00:00:00.100", "01:00:00")]
    public TimeSpan BackoffInitial { get; set; } = TimeSpan.FromSeconds(5);

    [TimeSpanRange("00:00:00.100", "1.00:00:00")]
    public TimeSpan BackoffMax { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Grace period Docker gives the worker to stop before it is killed on restart.</summary>
    [TimeSpanRange("00:00:00", "00:10:00")]
    public TimeSpan StopTimeout { get; set; } = TimeSpan.FromSeconds(10);
}

public sealed class MetricsOptions
{
    /// <summary>
    /// Where Prometheus scrapes <c>/metrics</c> over HTTP/1.1 (the gRPC port speaks HTTP/2 only). Empty: no metrics.
    /// </summary>
    public string? Url { get; set; } = "http://0.0.0.0:3005";
}

/// <summary>Source-generated validation, nested sections included; a bad value stops the agent with one line.</summary>
[OptionsValidator]
public sealed partial class AgentOptionsValidator : IValidateOptions<AgentOptions>;
