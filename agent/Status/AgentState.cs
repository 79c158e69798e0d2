using GpuSplit.Agent.Hosting;
using Microsoft.Extensions.Options;

namespace GpuSplit.Agent.Status;

/// <summary>
/// The one place the agent's picture lives. Writers change facts atomically; readers take the current snapshot or
/// wait for the next change (WatchStatus, health, metrics).
/// </summary>
public sealed class AgentState
{
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly string _container;
    private readonly string _endpoint;
    private AgentSnapshot _current;
    private TaskCompletionSource _changed = NewSignal();

    public AgentState(TimeProvider time, IOptions<AgentOptions> options)
    {
        _time = time;
        _container = options.Value.Worker.Container;
        _endpoint = options.Value.Docker.EffectiveEndpoint.ToString();
        _current = new AgentSnapshot(time.GetUtcNow(), _container, _endpoint, new AgentFacts());
    }

    public AgentSnapshot Current
    {
        get
        {
            lock (_gate)
            {
                return _current;
            }
        }
    }

    /// <summary>Applies <paramref name="change"/> to the facts; wakes the waiters when anything changed.</summary>
    public AgentSnapshot Update(Func<AgentFacts, AgentFacts> change)
    {
        TaskCompletionSource? wake = null;
        AgentSnapshot result;
        lock (_gate)
        {
            var next = change(_current.Facts);
            if (!next.Equals(_current.Facts))
            {
                _current = new AgentSnapshot(_time.GetUtcNow(), _container, _endpoint, next);
                wake = _changed;
                _changed = NewSignal();
            }

            result = _current;
        }

        wake?.TrySetResult();
        return result;
    }

    /// <summary>Completes at the next change of the facts.</summary>
    public Task NextChangeAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return _changed.Task.WaitAsync(cancellationToken);
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);
}
