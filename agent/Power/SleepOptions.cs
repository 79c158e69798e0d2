using System.ComponentModel.DataAnnotations;
using GpuSplit.Agent.Hosting;

namespace GpuSplit.Agent.Power;

/// <summary>
/// How the agent puts its box to sleep when the shim asks (<c>Agent:Sleep</c>). Without a command, Sleep is refused:
/// the agent often runs in a container, where no default could work.
/// </summary>
public sealed class SleepOptions
{
    /// <summary>
    /// The program to run, without a shell, e.g. <c>systemctl</c> (with argument <c>suspend</c>) on Linux, or
    /// <c>rundll32.exe</c> (with <c>powrprof.dll,SetSuspendState 0,1,0</c>) on Windows.
    /// </summary>
    public string? Command { get; set; }

    /// <summary>Its arguments, one per entry (<c>Agent__Sleep__Arguments__0=suspend</c>).</summary>
    public List<string> Arguments { get; set; } = [];

    /// <summary>
    /// Between reporting "going to sleep" and running the command, so the shim's watch stream carries the news
    /// before the network goes down, and a request its caller has given up on is dropped. The Sleep reply comes
    /// after it: keep it well under the shim's 10 s call timeout.
    /// </summary>
    [TimeSpanRange("00:00:00.100", "00:00:05")]
    public TimeSpan Delay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// After the command succeeded, the "going to sleep" flag stays this long. Suspend commands return at once and the
    /// box sleeps moments later; the remaining wait runs out after it woke, and the agent reports it awake again.
    /// </summary>
    [TimeSpanRange("00:00:01", "00:10:00")]
    public TimeSpan ClearAfter { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A command still running after this is killed and reported as failed.</summary>
    [TimeSpanRange("00:00:00.100", "00:10:00")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>GPU utilization at or above which the worker counts as working: a request is in flight.</summary>
    [Range(1, 100)]
    public uint BusyUtilizationPercent { get; set; } = 10;

    /// <summary>Sleep even when the GPU cannot be read (no NVML), trusting that nobody games on the box.</summary>
    public bool AllowWithoutGpuReadings { get; set; }

    public bool Configured => !string.IsNullOrWhiteSpace(Command);
}
