namespace GpuSplit.Shim.Power;

/// <summary>
/// Immich drops a job whose ML call failed, for good; only "Missing" brings those assets back. After a period with
/// losses, "Missing" is pressed once per affected queue when the box serves again, the queue is no longer paused by
/// the shim, and its backlog has drained: pressed earlier, it would queue a second job for every asset still waiting.
/// </summary>
public sealed class MissingPolicy : IMissingPolicy
{
    private readonly Dictionary<string, LostJobs> _affected = new(StringComparer.Ordinal);

    public IReadOnlyDictionary<string, LostJobs> Affected => _affected;

    public void RecordLoss(string queue, DateTimeOffset at) =>
        _affected[queue] = _affected.TryGetValue(queue, out var lost) ? lost with { Count = lost.Count + 1, Last = at } : new LostJobs(1, at, at);

    public IReadOnlyList<string> Decide(MissingInput input)
    {
        if (!input.Serving || input.Backlog is not { } backlog)
        {
            return [];
        }

        return [.. _affected.Keys.Where(q => !input.PausedByShim.Contains(q) && backlog.Pending(q) == 0).Order(StringComparer.Ordinal)];
    }

    public void Confirm(string queue, DateTimeOffset pressedAt)
    {
        // A loss after the press is not covered by it: the asset may have been selected before its job was dropped.
        if (_affected.TryGetValue(queue, out var lost) && lost.Last <= pressedAt)
        {
            _affected.Remove(queue);
        }
    }
}
