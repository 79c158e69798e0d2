using GpuSplit.Shim.Configuration;
using Microsoft.Extensions.Options;

namespace GpuSplit.Shim.Upstreams;

/// <summary>
/// The configured GPU boxes, and one signal that fires whenever any of them changes health, so that held
/// requests wake the moment a box starts serving instead of polling.
/// </summary>
public sealed class UpstreamRegistry
{
    private readonly bool _holds;
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public UpstreamRegistry(IOptions<ShimOptions> options, IUpstreamHealthPolicy policy, IEnumerable<IUpstreamObserver> observers, TimeProvider time)
    {
        var settings = options.Value;
        _holds = settings.MaxHeldRequests > 0;
        var watchers = observers.ToArray();
        All = settings.Upstreams.Select(o =>
        {
            var url = new Uri(o.Url);
            var upstream = new Upstream(UpstreamNaming.NameOf(o, url), url, new Uri(o.Agent), o.Token, policy, time);
            upstream.HealthChanged += (u, previous, current) =>
            {
                foreach (var watcher in watchers)
                {
                    watcher.HealthChanged(u, previous, current);
                }

                Interlocked.Exchange(ref _changed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
            };
            return upstream;
        }).ToArray();
    }

    public IReadOnlyList<Upstream> All { get; }

    /// <summary>
    /// Completes at the next health change of any box. Take it before looking at the boxes, then wait on it,
    /// so that a change in between is not missed.
    /// </summary>
    public Task WhenChanged => Volatile.Read(ref _changed).Task;

    /// <summary>
    /// Work can be accepted: a box serves, or one is only away for now and jobs may be held for it
    /// (<c>Shim:MaxHeldRequests</c> above 0).
    /// </summary>
    public bool AcceptsWork => All.Any(u => u.Health.Condition switch
    {
        UpstreamCondition.Serving => true,
        UpstreamCondition.Transient => _holds,
        _ => false,
    });
}
