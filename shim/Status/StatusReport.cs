using GpuSplit.Protos.V1;
using GpuSplit.Shim.Admission;
using GpuSplit.Shim.Configuration;
using GpuSplit.Shim.Power;
using GpuSplit.Shim.Upstreams;
using Microsoft.Extensions.Options;

namespace GpuSplit.Shim.Status;

/// <summary>
/// Sums up the seam for a person: is the GPU host there, what happens to ML jobs, and the details per box.
/// With several boxes the best one speaks for the whole ("online" if any box serves).
/// </summary>
public sealed class StatusReport(UpstreamRegistry upstreams, HoldQueue holds, ShimJournal journal, PowerLoop power, IOptions<ShimOptions> options,
    TimeProvider time)
{
    public StatusSnapshot Build()
    {
        var boxes = upstreams.All.Select(u => (Upstream: u, Health: u.Health)).ToArray();
        var best = boxes.FirstOrDefault(b => b.Health.Condition == UpstreamCondition.Serving).Health
            ?? boxes.FirstOrDefault(b => b.Health.Condition == UpstreamCondition.Transient).Health
            ?? boxes[0].Health;
        var jobs = best.Condition switch
        {
            UpstreamCondition.Serving when best.State == HostStates.AgentUnreachable => new StateSummary("flowing", "ML jobs forwarded without the GPU's view"),
            UpstreamCondition.Serving => new StateSummary("flowing", "ML jobs flowing"),
            UpstreamCondition.Transient when holds.Capacity > 0 => new StateSummary("held", "ML jobs held"),
            _ => new StateSummary("failing", "ML jobs failing"),
        };
        var host = new StateSummary(best.State, best.State == HostStates.AgentUnreachable ? "GPU host: agent unreachable, ML answering" : $"GPU host: {best.State}");
        var powerReport = power.Report;
        return new StatusSnapshot(
            time.GetUtcNow(),
            $"{host.Text} · {jobs.Text}",
            host,
            jobs,
            upstreams.AcceptsWork,
            new HoldReport(holds.Count, holds.Capacity, options.Value.HoldLimit.TotalSeconds),
            journal.Totals,
            boxes.Select(b => Report(b.Upstream, b.Health)).ToArray(),
            PowerSummary.From(powerReport),
            // The power loop's events (packets, pauses, Missing, sleep) among the proxy's, newest first.
            [.. journal.RecentEvents.Concat(powerReport.Events.Select(e => new StatusEvent(e.At, e.Text))).OrderByDescending(e => e.At)]);
    }

    private static UpstreamReport Report(Upstream upstream, UpstreamHealth health)
    {
        var status = upstream.Status;
        var worker = status?.Worker is { } w
            ? new WorkerReport(w.Container, Words(w.State), w.RestartCount, string.IsNullOrEmpty(w.LastFailure?.Reason) ? null : w.LastFailure.Reason)
            : null;
        var gpus = status?.Gpu?.Gpus.Select(g => new GpuReport(g.Index, g.Name, g.MemoryTotalBytes, g.MemoryUsedBytes, g.MemoryFreeBytes, g.UtilizationPercent)).ToArray()
            ?? [];
        return new UpstreamReport(
            upstream.Name,
            upstream.Url.GetLeftPart(UriPartial.Path),
            upstream.Agent.GetLeftPart(UriPartial.Path),
            health.State,
            health.Condition.ToString().ToLowerInvariant(),
            health.Reason,
            health.Since,
            upstream.InFlight,
            worker,
            gpus);
    }

    private static string Words(WorkerState state) => state switch
    {
        WorkerState.Running => "running",
        WorkerState.Starting => "starting",
        WorkerState.Restarting => "restarting",
        WorkerState.Stopped => "stopped",
        WorkerState.Missing => "missing",
        WorkerState.GpuUnsupported => "GPU unsupported",
        WorkerState.CrashLooping => "crash-looping",
        WorkerState.DockerUnavailable => "Docker unavailable",
        _ => "unknown",
    };
}
