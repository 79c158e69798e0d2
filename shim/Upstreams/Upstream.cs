using GpuSplit.Protos.V1;

namespace GpuSplit.Shim.Upstreams;

/// <summary>
/// One GPU box as the shim knows it: where its ML service and agent are, what the agent last said, and how
/// many requests it is working on. Thread-safe: the watcher writes, every request reads.
/// </summary>
public sealed class Upstream
{
    private readonly Lock _gate = new();
    private readonly IUpstreamHealthPolicy _policy;
    private readonly TimeProvider _time;
    private readonly TimeSpan _unreachableCooldown;
    private AgentView _view = AgentView.Initial;
    private UpstreamHealth _health;
    private string? _unreachable;
    private ITimer? _unreachableTimer;
    private int _inFlight;

    public Upstream(string name, Uri url, Uri agent, string? token, IUpstreamHealthPolicy policy, TimeProvider time, TimeSpan unreachableCooldown)
    {
        Name = name;
        Url = url;
        Agent = agent;
        Token = token;
        _policy = policy;
        _time = time;
        _unreachableCooldown = unreachableCooldown;
        var (condition, state, reason) = policy.Assess(_view);
        _health = new UpstreamHealth(condition, state, reason, time.GetUtcNow());
    }

    public string Name { get; }

    /// <summary>The Immich ML service on the box.</summary>
    public Uri Url { get; }

    /// <summary>The box's agent.</summary>
    public Uri Agent { get; }

    /// <summary>Sent to the agent; kept out of every report.</summary>
    internal string? Token { get; }

    /// <summary>Raised with the previous and the new health, in the order the changes happened.</summary>
    public event Action<Upstream, UpstreamHealth, UpstreamHealth>? HealthChanged;

    public UpstreamHealth Health
    {
        get
        {
            lock (_gate)
            {
                return _health;
            }
        }
    }

    /// <summary>The agent's last full report while its status stream is open.</summary>
    public AgentStatus? Status
    {
        get
        {
            lock (_gate)
            {
                return _view.Status;
            }
        }
    }

    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Free VRAM over the box's GPUs, as the agent last reported; 0 when unknown.</summary>
    public ulong FreeVramBytes
    {
        get
        {
            var gpus = Status?.Gpu?.Gpus;
            ulong free = 0;
            if (gpus is not null)
            {
                foreach (var gpu in gpus)
                {
                    free += gpu.MemoryFreeBytes;
                }
            }

            return free;
        }
    }

    public void BeginRequest() => Interlocked.Increment(ref _inFlight);

    public void EndRequest() => Interlocked.Decrement(ref _inFlight);

    /// <summary>Applies news from the agent's watch streams.</summary>
    public void Observe(Func<AgentView, AgentView> change)
    {
        lock (_gate)
        {
            _view = change(_view);
        }

        Reassess();
    }

    /// <summary>
    /// The ML service refused or did not take a connection although the agent says serving (the box may be
    /// going down before its agent's stream notices). The box is passed over for the cooldown, then tried again.
    /// </summary>
    public void MarkUnreachable(string reason)
    {
        lock (_gate)
        {
            _unreachable = reason;
            _unreachableTimer?.Dispose();
            _unreachableTimer = _time.CreateTimer(_ => EndCooldown(), null, _unreachableCooldown, Timeout.InfiniteTimeSpan);
        }

        Reassess();
    }

    private void EndCooldown()
    {
        lock (_gate)
        {
            _unreachable = null;
        }

        Reassess();
    }

    private void Reassess()
    {
        lock (_gate)
        {
            var (condition, state, reason) = _policy.Assess(_view);
            if (condition == UpstreamCondition.Serving && _unreachable is not null)
            {
                (condition, state, reason) = (UpstreamCondition.Transient, HostStates.MlUnreachable, _unreachable);
            }

            var previous = _health;
            var candidate = new UpstreamHealth(condition, state, reason, _time.GetUtcNow());
            if (candidate.SameAs(previous))
            {
                return;
            }

            _health = previous.State == candidate.State ? candidate with { Since = previous.Since } : candidate;
            // Raised under the lock: the two watch streams and the cooldown timer reassess concurrently, and the
            // log and the status page's events must see the changes in the order they happened. Observers only
            // record, and waiters resume asynchronously, so nothing re-enters.
            HealthChanged?.Invoke(this, previous, _health);
        }
    }
}
