using System.Runtime.CompilerServices;
using System.Text;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace GpuSplit.MlService.Docker;

/// <summary>One line of a container's stdout or stderr, with Docker's timestamp in nanoseconds since the epoch.</summary>
public sealed record ContainerLogLine(long Nanoseconds, string Text)
{
    public DateTimeOffset At => LogTimestamp.ToTime(Nanoseconds);
}

/// <summary>
/// A container's stdout and stderr as whole lines, each with its timestamp: Docker's multiplexed frames split
/// nowhere in particular, a UTF-8 character may straddle two of them, and stdout and stderr interleave.
/// </summary>
public static class ContainerLogLines
{
    /// <summary>Follows the logs from <paramref name="sinceNanoseconds"/> until the container stops or the token fires.</summary>
    public static async IAsyncEnumerable<ContainerLogLine> FollowAsync(DockerClient client, string container, long sinceNanoseconds,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var parameters = new ContainerLogsParameters
        {
            Follow = true,
            ShowStdout = true,
            ShowStderr = true,
            Timestamps = true,
            Since = LogTimestamp.ToSinceParameter(sinceNanoseconds),
        };
        using var stream = await client.Containers.GetContainerLogsAsync(container, parameters, cancellationToken);
        var buffer = new byte[16 * 1024];
        var chars = new char[Encoding.UTF8.GetMaxCharCount(buffer.Length)];
        // One decoder per stream: a UTF-8 character may be split across two frames.
        var pending = new Dictionary<MultiplexedStream.TargetStream, (Decoder Decoder, StringBuilder Text)>();
        var complete = new List<ContainerLogLine>();
        while (true)
        {
            var read = await stream.ReadOutputAsync(buffer, 0, buffer.Length, cancellationToken);
            if (read.EOF)
            {
                yield break;
            }

            if (!pending.TryGetValue(read.Target, out var target))
            {
                pending[read.Target] = target = (Encoding.UTF8.GetDecoder(), new StringBuilder());
            }

            var count = target.Decoder.GetChars(buffer, 0, read.Count, chars, 0);
            target.Text.Append(chars, 0, count);
            TakeCompleteLines(target.Text, complete);
            foreach (var line in complete)
            {
                yield return line;
            }

            complete.Clear();
        }
    }

    private static void TakeCompleteLines(StringBuilder text, List<ContainerLogLine> into)
    {
        var content = text.ToString();
        var start = 0;
        for (var newline = content.IndexOf('\n', start); newline >= 0; newline = content.IndexOf('\n', start))
        {
            // Lines without Docker's timestamp cannot be placed in time; with Timestamps=true there are none.
            if (LogTimestamp.TryParseLine(content.AsSpan(start, newline - start).TrimEnd('\r'), out var stamp, out var message))
            {
                into.Add(new ContainerLogLine(stamp, message));
            }

            start = newline + 1;
        }

        text.Remove(0, start);
    }
}
