using GpuSplit.Shim.Immich;

namespace GpuSplit.Shim.Power;

/// <summary>
/// Once the box has been away longer than the hold limit, a held job would time out and Immich would drop it; pausing
/// smartSearch, faceDetection and ocr keeps new jobs queued in Immich instead. They are resumed when an agent reports
/// SERVING. A queue an admin had already paused is left alone both ways.
/// </summary>
/// <param name="holdLimit">The shim's hold limit (Shim:HoldLimit).</param>
/// <param name="ledger">Where the queues it paused are kept across a restart; in memory when not given.</param>
public sealed class QueuePausePolicy(TimeSpan holdLimit, TimeProvider time, PowerLedger? ledger = null) : IQueuePausePolicy
{
    private readonly PowerLedger _ledger = ledger ?? PowerLedger.InMemory();

    public IReadOnlyCollection<string> PausedByShim => _ledger.PausedByShim;

    public QueueDecision Decide(QueueInput input)
    {
        if (input.Serving)
        {
            return _ledger.PausedByShim.Count > 0
                ? new QueueDecision(QueueAction.Resume, [.. ImmichQueues.MachineLearning.Where(_ledger.PausedByShim.Contains)], "the GPU box is serving again")
                : QueueDecision.Nothing("the GPU box is serving");
        }

        var away = input.AwaySince is { } since ? time.GetUtcNow() - since : TimeSpan.Zero;
        if (away < holdLimit)
        {
            return QueueDecision.Nothing($"the GPU box is away for {away.TotalSeconds:0} s, within the hold limit of {holdLimit.TotalSeconds:0} s");
        }

        if (input.Backlog is not { } backlog)
        {
            return QueueDecision.Nothing("the GPU box is away past the hold limit, but Immich's queues cannot be read");
        }

        var toPause = ImmichQueues.MachineLearning.Where(q => !_ledger.PausedByShim.Contains(q) && backlog.Queues.ContainsKey(q) && !backlog.IsPaused(q)).ToArray();
        return toPause.Length > 0
            ? new QueueDecision(QueueAction.Pause, toPause, $"the GPU box is away for {away.TotalSeconds:0} s, past the hold limit of {holdLimit.TotalSeconds:0} s")
            : QueueDecision.Nothing("Immich's ML queues are paused while the GPU box is away");
    }

    public void Confirm(QueueAction action, IEnumerable<string> queues)
    {
        var changed = false;
        foreach (var queue in queues)
        {
            changed |= action switch
            {
                QueueAction.Pause => _ledger.PausedByShim.Add(queue),
                QueueAction.Resume => _ledger.PausedByShim.Remove(queue),
                _ => false,
            };
        }

        if (changed)
        {
            _ledger.Save();
        }
    }
}
