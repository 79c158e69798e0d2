using GpuSplit.Shim.Immich;

namespace GpuSplit.Shim.Power;

/// <summary>What Immich's ML queues hold, read from <c>GET /api/queues</c>.</summary>
public sealed record MlBacklog(IReadOnlyDictionary<string, QueueResponse> Queues)
{
    public static MlBacklog From(IEnumerable<QueueResponse> queues) =>
        new(queues.Where(q => ImmichQueues.MachineLearning.Contains(q.Name)).ToDictionary(q => q.Name, StringComparer.Ordinal));

    /// <summary>
    /// Jobs that still need the GPU box: waiting and active, and also paused and delayed. The shim itself pauses these
    /// queues while the box is away, and BullMQ may then count their waiting jobs as paused.
    /// </summary>
    public long Pending(string queue) =>
        Queues.TryGetValue(queue, out var q) ? q.Statistics.Waiting + q.Statistics.Active + q.Statistics.Paused + q.Statistics.Delayed : 0;

    public long Total => ImmichQueues.MachineLearning.Sum(Pending);

    public bool IsPaused(string queue) => Queues.TryGetValue(queue, out var q) && q.IsPaused;
}
