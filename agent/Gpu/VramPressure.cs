using System.Globalization;
using GpuSplit.Agent.Hosting;
using GpuSplit.Agent.Status;
using Microsoft.Extensions.Options;

namespace GpuSplit.Agent.Gpu;

/// <summary>
/// Tells a card that is full for a while, while the worker serves, from a passing peak: memory above the threshold
/// (default 97%) for the whole window (default 60 s). A worker that is not serving cannot be blamed for it.
/// </summary>
public sealed class VramPressure(IOptions<AgentOptions> options)
{
    private DateTimeOffset? _since;
    private bool _reported;

    /// <summary>The exhaustion, described, once sustained; null otherwise. <paramref name="isNew"/>: first time this episode.</summary>
    public string? Observe(DateTimeOffset now, IReadOnlyList<GpuDeviceView> devices, bool workerServing, out bool isNew)
    {
        isNew = false;
        var limits = options.Value.Watchdog;
        var fullest = devices.OrderByDescending(d => d.UsedFraction).FirstOrDefault();
        if (!workerServing || fullest is null || fullest.UsedFraction * 100 < limits.VramThresholdPercent)
        {
            _since = null;
            _reported = false;
            return null;
        }

        _since ??= now;
        if (now - _since < limits.VramWindow)
        {
            return null;
        }

        isNew = !_reported;
        _reported = true;
        const double mib = 1024 * 1024;
        return string.Create(CultureInfo.InvariantCulture,
            $"GPU {fullest.Index} ({fullest.Name}) memory {fullest.UsedFraction * 100:0.#}% used ({fullest.MemoryUsedBytes / mib:0} of {fullest.MemoryTotalBytes / mib:0} MiB) "
            + $"for {(now - _since.Value).TotalSeconds:0} s while serving, threshold {limits.VramThresholdPercent:0.#}%; other processes hold {fullest.ContentionBytes / mib:0} MiB");
    }
}
