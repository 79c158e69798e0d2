using Docker.DotNet;
using GpuSplit.Agent.Footprints;
using GpuSplit.Agent.Status;
using GpuSplit.Agent.Watchdog;
using GpuSplit.MlService.Docker;

namespace GpuSplit.Agent.Docker;

/// <summary>
/// Follows the worker's stdout and stderr and posts each line to the watchdog and to the footprint learner. Remembers the newest line's
/// timestamp, so following again after a restart or a lost connection neither skips nor repeats lines; at the
/// agent's start it begins at "now", because old lines describe failures already over.
/// </summary>
public sealed partial class WorkerLogFollower(WorkerSignals signals, FootprintLearner footprints, TimeProvider time, ILogger<WorkerLogFollower> logger)
{
    private long _lastSeen = LogTimestamp.FromTime(time.GetUtcNow());

    /// <summary>Reads until the container stops (the stream ends) or <paramref name="cancellationToken"/> fires.</summary>
    public async Task FollowAsync(DockerClient client, WorkerInspection container, CancellationToken cancellationToken)
    {
        LogFollowing(logger, container.Name);
        await foreach (var line in ContainerLogLines.FollowAsync(client, container.Id, Interlocked.Read(ref _lastSeen), cancellationToken))
        {
            if (line.Nanoseconds <= Interlocked.Read(ref _lastSeen))
            {
                continue;
            }

            Interlocked.Exchange(ref _lastSeen, line.Nanoseconds);
            signals.Post(new LogLine(line.Text, line.At));
            footprints.OnLogLine(line.Text, line.At);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "following the logs of {Container}")]
    private static partial void LogFollowing(ILogger logger, string container);
}
