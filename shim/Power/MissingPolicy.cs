namespace GpuSplit.Shim.Power;

/// <summary>
/// Immich drops a job whose ML call failed, for good; only "Missing" brings those assets back. After a period with
/// losses, "Missing" is pressed once per affected queue when the box serves again, the queue is no longer paused by
/// the shim, and its backlog has drained: pressed earlier, it would queue a second job for every asset still waiting.
/// </summary>
/// <param name="ledger">Where the losses are kept across a restart; in memory when not given.</param>
public sealed class MissingPolicy(PowerLedger? ledger = null) : IMissingPolicy
{
    private readonly PowerLedger _ledger = ledger ?? PowerLedger.InMemory();

    public IReadOnlyDictionary<string, LostJobs> Affected => _ledger.Lost;

    public void RecordLoss(string queue, DateTimeOffset at)
    {
        _ledger.Lost[queue] = _ledger.Lost.TryGetValue(queue, out var lost) ? lost with { Count = lost.Count + 1, Last = at } : new LostJobs(1, at, at);
        _ledger.Save();
    }

    public IReadOnlyList<string> Decide(MissingInput input)
    {
        if (!input.Serving || input.Backlog is not { } backlog)
        {
            return [];
        }

        return [.. _ledger.Lost.Keys.Where(q => !input.PausedByShim.Contains(q) && backlog.Pending(q) == 0).Order(StringComparer.Ordinal)];
    }

    public void Confirm(string queue, DateTimeOffset pressedAt)
    {
        // A loss after the press is not covered by it: the asset may have been selected before its job was dropped.
        if (_ledger.Lost.TryGetValue(queue, out var lost) && lost.Last <= pressedAt)
        {
            _ledger.Lost.Remove(queue);
            _ledger.Save();
        }
    }
}
