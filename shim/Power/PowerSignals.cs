using System.Collections.Concurrent;
using System.Threading.Channels;
using GpuSplit.Shim.Classification;
using GpuSplit.Shim.Immich;
using GpuSplit.Shim.Status;
using GpuSplit.Shim.Upstreams;

namespace GpuSplit.Shim.Power;

/// <summary>
/// What the proxy tells the power loop between its turns: when ML work was last seen, which jobs were lost, and
/// nudges (a job held, a box's health changed) so the loop decides at once rather than at its next poll. Depends on
/// nothing, so the registry and the journal can report to it without a cycle.
/// </summary>
public sealed class PowerSignals(TimeProvider time) : IJournalObserver, IUpstreamObserver
{
    private readonly ConcurrentQueue<(string Queue, DateTimeOffset At)> _losses = new();
    private readonly Channel<bool> _nudges = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private long _lastWorkTicks = -1;

    /// <summary>When the last ML request arrived (any kind); null when none since start.</summary>
    public DateTimeOffset? LastWorkAt => Interlocked.Read(ref _lastWorkTicks) is var ticks and >= 0 ? new DateTimeOffset(ticks, TimeSpan.Zero) : null;

    public void RequestSeen(MlRequestKind kind) => Interlocked.Exchange(ref _lastWorkTicks, time.GetUtcNow().UtcTicks);

    public void JobHeld(MlRequestKind kind) => Nudge();

    public void JobLost(MlRequestKind kind)
    {
        if (QueueOf(kind) is { } queue)
        {
            JobLost(queue);
        }
    }

    /// <summary>A job of Immich's <paramref name="queue"/> was dropped.</summary>
    public void JobLost(string queue)
    {
        _losses.Enqueue((queue, time.GetUtcNow()));
        Nudge();
    }

    public void HealthChanged(Upstream upstream, UpstreamHealth previous, UpstreamHealth current) => Nudge();

    public void Nudge() => _nudges.Writer.TryWrite(true);

    public bool TryTakeLoss(out (string Queue, DateTimeOffset At) loss) => _losses.TryDequeue(out loss);

    /// <summary>Completes at the next nudge (or at once if one came since the last wait).</summary>
    public async Task WaitForNudgeAsync(CancellationToken cancellationToken)
    {
        await _nudges.Reader.WaitToReadAsync(cancellationToken);
        _nudges.Reader.TryRead(out _);
    }

    /// <summary>The Immich queue whose jobs make requests of this kind; none for search and unknown work.</summary>
    public static string? QueueOf(MlRequestKind kind) => kind switch
    {
        MlRequestKind.SmartSearch => ImmichQueues.SmartSearch,
        MlRequestKind.FaceDetection => ImmichQueues.FaceDetection,
        MlRequestKind.Ocr => ImmichQueues.Ocr,
        _ => null,
    };
}
