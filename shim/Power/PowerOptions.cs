namespace GpuSplit.Shim.Power;

/// <summary>When the shim wakes the GPU box, when it lets it sleep, and how it keeps Immich from dropping jobs (<c>Shim:Power</c>).</summary>
public sealed class PowerOptions
{
    public const string Section = "Shim:Power";

    /// <summary>
    /// Wake the box when Immich's ML queues (smartSearch, faceDetection, ocr) hold at least this many jobs. Held jobs
    /// wake it at once whatever the count: Immich drops them when the hold limit runs out.
    /// </summary>
    public int BacklogThreshold { get; set; } = 50;

    /// <summary>At most one magic packet per interval while the box has not answered.</summary>
    public TimeSpan WakeInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Give up waking (and say why on the status page) when the agent has not answered this long after the first packet.</summary>
    public TimeSpan WakeGiveUpAfter { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>After giving up, wait this long, then try another round of packets if work still waits.</summary>
    public TimeSpan WakeRetryAfterGiveUp { get; set; } = TimeSpan.FromHours(1);

    /// <summary>No magic packets between these local times (a gaming PC in a bedroom); held jobs are not woken for either.</summary>
    public QuietHoursOptions QuietHours { get; set; } = new();

    /// <summary>How often Immich's queues are read and the loop decides.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Ask the agent to put the box to sleep when idle (needs the agent's token).</summary>
    public bool SleepWhenIdle { get; set; } = true;

    /// <summary>No ML request for this long, and Immich's ML queues empty: the box may sleep.</summary>
    public TimeSpan IdleTime { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>After the agent refused to sleep (a game holds the GPU), ask again no sooner than this.</summary>
    public TimeSpan SleepRetryInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// The file that keeps the queues the shim paused and the jobs lost since the last "Missing" across a restart;
    /// empty: /var/lib/gpusplit-shim/power.json, or %ProgramData%\GpuSplit\shim-power.json on Windows.
    /// </summary>
    public string? LedgerFile { get; set; }

    public string EffectiveLedgerFile => string.IsNullOrWhiteSpace(LedgerFile)
        ? OperatingSystem.IsWindows()
            ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.CommonApplicationData), "GpuSplit", "shim-power.json")
            : "/var/lib/gpusplit-shim/power.json"
        : LedgerFile;
}

/// <summary>A daily window in the shim's local time zone; both ends unset means no quiet hours.</summary>
public sealed class QuietHoursOptions
{
    public TimeOnly? Start { get; set; }

    public TimeOnly? End { get; set; }

    public bool Configured => Start is not null && End is not null;

    /// <summary>True inside [Start, End), across midnight when End is earlier than Start.</summary>
    public bool Contains(TimeOnly time) => Start is { } start && End is { } end && (start <= end
        ? time >= start && time < end
        : time >= start || time < end);
}
