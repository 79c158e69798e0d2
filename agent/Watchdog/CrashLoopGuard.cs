using GpuSplit.Agent.Hosting;
using Microsoft.Extensions.Options;

namespace GpuSplit.Agent.Watchdog;

/// <summary>
/// Counts the agent's restarts. Past the limit within the window (default 5 in 10 minutes) a restart is deferred:
/// 5 s the first time, doubling each time the worker fails again right after a deferred try, up to 5 minutes. The
/// back-off starts over once the restarts in the window fall below the limit again.
/// </summary>
public sealed class CrashLoopGuard(IOptions<AgentOptions> options)
{
    private readonly Queue<DateTimeOffset> _restarts = new();
    private int _level;

    public DateTimeOffset? BackoffUntil { get; private set; }

    public int RestartsInWindow => _restarts.Count;

    /// <summary>Null: restart now (counted). Otherwise the time before which no restart may happen.</summary>
    public DateTimeOffset? Request(DateTimeOffset now)
    {
        var limits = options.Value.Watchdog;
        while (_restarts.TryPeek(out var oldest) && now - oldest > limits.CrashLoopWindow)
        {
            _restarts.Dequeue();
        }

        if (BackoffUntil is { } until)
        {
            if (now < until)
            {
                return until;
            }

            // The back-off ran out: this is the one try it was waiting for.
            BackoffUntil = null;
        }
        else if (_restarts.Count >= limits.CrashLoopRestarts)
        {
            var delay = TimeSpan.FromTicks(Math.Min(limits.BackoffMax.Ticks, limits.BackoffInitial.Ticks * (1L << Math.Min(_level, 20))));
            _level++;
            BackoffUntil = now + delay;
            return BackoffUntil;
        }
        else
        {
            _level = 0;
        }

        _restarts.Enqueue(now);
        return null;
    }

    /// <summary>An operator's restart: starts over.</summary>
    public void Reset()
    {
        _restarts.Clear();
        _level = 0;
        BackoffUntil = null;
    }
}
