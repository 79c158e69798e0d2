using System.Globalization;
using GpuSplit.Protos.V1;
using Microsoft.Extensions.Options;

namespace GpuSplit.Agent.Power;

/// <summary>
/// The box is somebody's gaming PC: it never sleeps under a process that is not the ML worker (a game), nor while the
/// worker is computing (GPU utilization at or above the threshold) or being restarted. Without GPU readings a game
/// cannot be seen, so the answer is no unless configured otherwise.
/// </summary>
public sealed class SleepRefusalPolicy(IOptions<SleepOptions> options) : ISleepRefusalPolicy
{
    private readonly SleepOptions _options = options.Value;

    public SleepVerdict? Refuse(SleepCheck check)
    {
        if (!_options.Configured)
        {
            return new SleepVerdict(SleepRefusal.NotConfigured, "no sleep command is configured on the agent (set Agent__Sleep__Command)");
        }

        if (check.GpuUnreadableReason is { } unreadable && !_options.AllowWithoutGpuReadings)
        {
            return new SleepVerdict(SleepRefusal.GpuUnreadable,
                $"the GPU cannot be read ({unreadable}), so a game using it would not be seen (Agent__Sleep__AllowWithoutGpuReadings=true to sleep anyway)");
        }

        var foreign = check.Gpus.SelectMany(g => g.Processes.Where(p => !p.IsWorker).Select(p => (Gpu: g.Index, Process: p))).ToArray();
        if (foreign.Length > 0)
        {
            var list = string.Join(", ", foreign.Select(f => $"pid {f.Process.Pid}{(f.Process.ContainerName is { } c ? $" ({c})" : "")} with {MiB(f.Process.UsedMemoryBytes)} on GPU {f.Gpu}"));
            return new SleepVerdict(SleepRefusal.GpuInUse, $"another process uses the GPU: {list}");
        }

        if (check.WorkerRestarting)
        {
            return new SleepVerdict(SleepRefusal.WorkInFlight, "the ML worker is being restarted");
        }

        if (check.Gpus.FirstOrDefault(g => g.UtilizationPercent >= _options.BusyUtilizationPercent) is { } busy)
        {
            return new SleepVerdict(SleepRefusal.WorkInFlight,
                $"GPU {busy.Index} is {busy.UtilizationPercent}% busy (threshold {_options.BusyUtilizationPercent}%): work is in flight");
        }

        return null;
    }

    private static string MiB(ulong bytes) => (bytes / (1024.0 * 1024.0)).ToString("0", CultureInfo.InvariantCulture) + " MiB";
}
