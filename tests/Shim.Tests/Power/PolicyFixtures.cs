using GpuSplit.Shim.Immich;
using GpuSplit.Shim.Power;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace GpuSplit.Shim.Tests.Power;

/// <summary>Immich queue readings and a clock for the policy tests.</summary>
internal static class PolicyFixtures
{
    public static readonly DateTimeOffset Start = new(2026, 3, 14, 12, 0, 0, TimeSpan.Zero);

    public static FakeTimeProvider Clock() => new(Start);

    public static IOptions<PowerOptions> Options(Action<PowerOptions>? change = null)
    {
        var options = new PowerOptions();
        change?.Invoke(options);
        return Microsoft.Extensions.Options.Options.Create(options);
    }

    /// <summary>Immich's ML queues with these waiting counts and paused flags; the other queues empty.</summary>
    public static MlBacklog Backlog(long smartSearch = 0, long faceDetection = 0, long ocr = 0, params string[] paused) =>
        MlBacklog.From(
        [
            Queue(ImmichQueues.SmartSearch, smartSearch, paused),
            Queue(ImmichQueues.FaceDetection, faceDetection, paused),
            Queue(ImmichQueues.Ocr, ocr, paused),
            Queue("thumbnailGeneration", 500, paused),
        ]);

    private static QueueResponse Queue(string name, long waiting, string[] paused) =>
        new(name, paused.Contains(name), new QueueStatistics(Active: 0, Completed: 0, Delayed: 0, Failed: 0, Paused: 0, Waiting: waiting));
}
