using System.Text;
using Docker.DotNet;
using Docker.DotNet.Models;
using GpuSplit.Agent.Status;
using GpuSplit.Agent.Watchdog;

namespace GpuSplit.Agent.Docker;

/// <summary>
/// Follows the worker's stdout and stderr and posts each line to the watchdog. Remembers the newest line's
/// timestamp, so following again after a restart or a lost connection neither skips nor repeats lines; at the
/// agent's start it begins at "now", because old lines describe failures already over.
/// </summary>
public sealed partial class WorkerLogFollower(WorkerSignals signals, TimeProvider time, ILogger<WorkerLogFollower> logger)
{
    private long _lastSeen = LogTimestamp.FromTime(time.GetUtcNow());

    /// <summary>Reads until the container stops (the stream ends) or <paramref name="cancellationToken"/> fires.</summary>
    public async Task FollowAsync(DockerClient client, WorkerInspection container, CancellationToken cancellationToken)
    {
        var parameters = new ContainerLogsParameters
        {
            Follow = true,
            ShowStdout = true,
            ShowStderr = true,
            Timestamps = true,
            Since = LogTimestamp.ToSinceParameter(Interlocked.Read(ref _lastSeen)),
        };
        using var stream = await client.Containers.GetContainerLogsAsync(container.Id, parameters, cancellationToken);
        LogFollowing(logger, container.Name);
        var buffer = new byte[16 * 1024];
        var chars = new char[Encoding.UTF8.GetMaxCharCount(buffer.Length)];
        // One decoder per stream: a UTF-8 character may be split across two frames.
        var pending = new Dictionary<MultiplexedStream.TargetStream, (Decoder Decoder, StringBuilder Text)>();
        while (true)
        {
            var read = await stream.ReadOutputAsync(buffer, 0, buffer.Length, cancellationToken);
            if (read.EOF)
            {
                return;
            }

            if (!pending.TryGetValue(read.Target, out var target))
            {
                pending[read.Target] = target = (Encoding.UTF8.GetDecoder(), new StringBuilder());
            }

            var count = target.Decoder.GetChars(buffer, 0, read.Count, chars, 0);
            target.Text.Append(chars, 0, count);
            EmitCompleteLines(target.Text);
        }
    }

    private void EmitCompleteLines(StringBuilder text)
    {
        var content = text.ToString();
        var start = 0;
        for (var newline = content.IndexOf('\n', start); newline >= 0; newline = content.IndexOf('\n', start))
        {
            Emit(content.AsSpan(start, newline - start).TrimEnd('\r'));
            start = newline + 1;
        }

        text.Remove(0, start);
    }

    private void Emit(ReadOnlySpan<char> line)
    {
        if (!LogTimestamp.TryParseLine(line, out var stamp, out var message) || stamp <= Interlocked.Read(ref _lastSeen))
        {
            return;
        }

        Interlocked.Exchange(ref _lastSeen, stamp);
        signals.Post(new LogLine(message, LogTimestamp.ToTime(stamp)));
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "following the logs of {Container}")]
    private static partial void LogFollowing(ILogger logger, string container);
}
