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
    private AgentView _view = AgentView.Initial;
    private UpstreamHealth _health;
    private (string State, string Reason)? _failed;
    private CancellationTokenSource _gone = new();
    private int _inFlight;

    public Upstream(string name, Uri url, Uri agent, string? token, IUpstreamHealthPolicy policy, TimeProvider time)
    {
        Name = name;
        Url = url;
        Agent = agent;
        Token = token;
        _policy = policy;
        _time = time;
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

    /// <summary>
    /// Cancelled when the box vanishes (its agent goes silent, or neither its agent nor its ML service answers); a new
    /// token each time.
    /// </summary>
    public CancellationToken WhenGone
    {
        get
        {
            lock (_gate)
            {
                return _gone.Token;
            }
        }
    }

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

    /// <summary>The agent was tried and does not answer: the shim's own ML pings speak for the box.</summary>
    public bool AgentAway
    {
        get
        {
            lock (_gate)
            {
                return _view.AgentAway;
            }
        }
    }

    /// <summary>A message from the agent: what it says now, heard after everything before it. The agent speaks for the box again.</summary>
    public void Heard(Func<AgentView, AgentView> change) => Apply(v => change(v) with { Ml = null }, heard: true);

    /// <summary>
    /// The agent went silent on an open connection (it missed its heartbeats): the box may have lost power or its link,
    /// and requests in flight to it would wait on a dead connection that sends no reset. They are taken back at once,
    /// before the ML service is asked; an agent that refuses or resets (it crashed, the box is up) leaves them be.
    /// </summary>
    public void Vanished(string reason)
    {
        Observe(v => v with { Status = null, Health = null, LastError = reason });
        CancellationTokenSource vanished;
        lock (_gate)
        {
            vanished = _gone;
            _gone = new CancellationTokenSource();
        }

        // Outside the lock: cancelling runs the forwards' callbacks, which abort their requests.
        vanished.Cancel();
        vanished.Dispose();
    }

    /// <summary>
    /// The shim's own ping of the ML service while the agent is away; dropped if the agent answered meanwhile. An answer
    /// heard after a failed forward clears its mark, as the agent's "serving" would: the ML service is tried again.
    /// </summary>
    public void Pinged(MlPing ping)
    {
        lock (_gate)
        {
            if (!_view.AgentAway)
            {
                return;
            }

            _view = _view with { Ml = ping };
            if (ping.Answering && _failed is not null && _policy.Assess(_view).Condition == UpstreamCondition.Serving)
            {
                _failed = null;
            }
        }

        Reassess();
    }

    /// <summary>A watch stream was lost or could not be opened.</summary>
    public void Observe(Func<AgentView, AgentView> change) => Apply(change, heard: false);

    /// <summary>
    /// The ML service failed although the agent says serving: it refused or dropped a connection, or answered that it
    /// ran out of memory (the agent may not have noticed yet: a killed worker, a stuck one). The box is passed over
    /// until its agent says serving again in a message heard after this, not for a fixed time: a box whose link went
    /// down keeps its mark until its agent answers again, however long that takes.
    /// </summary>
    /// <param name="state"><see cref="HostStates.MlUnreachable"/> or <see cref="HostStates.MlFailing"/>.</param>
    public void MarkFailed(string state, string reason)
    {
        lock (_gate)
        {
            _failed = (state, reason);
        }

        Reassess();
    }

    private void Apply(Func<AgentView, AgentView> change, bool heard)
    {
        lock (_gate)
        {
            var before = _view;
            _view = change(_view);
            // Only the stream that decides can say "serving again": while the status stream is open, a health message
            // (the health stream's first, arriving late) is no news about the failure.
            var decides = _view.Status is null || !ReferenceEquals(_view.Status, before.Status);
            if (heard && decides && _failed is not null && _policy.Assess(_view).Condition == UpstreamCondition.Serving)
            {
                _failed = null;
            }
        }

        Reassess();
    }

    private void Reassess()
    {
        CancellationTokenSource? vanished = null;
        lock (_gate)
        {
            var (condition, state, reason) = _policy.Assess(_view);
            if (condition == UpstreamCondition.Serving && _failed is { } failed)
            {
                (condition, state, reason) = (UpstreamCondition.Transient, failed.State, failed.Reason);
            }

            var previous = _health;
            var candidate = new UpstreamHealth(condition, state, reason, _time.GetUtcNow());
            if (candidate.SameAs(previous))
            {
                return;
            }

            if (state == HostStates.Asleep && previous.State != HostStates.Asleep)
            {
                vanished = _gone;
                _gone = new CancellationTokenSource();
            }

            _health = previous.State == candidate.State ? candidate with { Since = previous.Since } : candidate;
            // Raised under the lock: the two watch streams and the cooldown timer reassess concurrently, and the
            // log and the status page's events must see the changes in the order they happened. Observers only
            // record, and waiters resume asynchronously, so nothing re-enters.
            HealthChanged?.Invoke(this, previous, _health);
        }

        // Outside the lock: cancelling runs the forwards' callbacks, which abort their requests.
        if (vanished is not null)
        {
            vanished.Cancel();
            vanished.Dispose();
        }
    }
}
