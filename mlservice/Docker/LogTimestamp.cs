using System.Globalization;

namespace GpuSplit.MlService.Docker;

/// <summary>
/// Docker's log timestamps (RFC 3339 with up to nine fraction digits) as nanoseconds since the epoch: exact, so a
/// reconnected log stream can skip every line already seen and never act twice on one CUDA error.
/// </summary>
public static class LogTimestamp
{
    /// <summary>Splits <c>2025-11-25T02:46:32.370012878Z text</c> into its time and its text.</summary>
    public static bool TryParseLine(ReadOnlySpan<char> line, out long nanoseconds, out string text)
    {
        nanoseconds = 0;
        text = "";
        var space = line.IndexOf(' ');
        if (space < 20 || !TryParse(line[..space], out nanoseconds))
        {
            return false;
        }

        text = line[(space + 1)..].ToString();
        return true;
    }

    public static bool TryParse(ReadOnlySpan<char> stamp, out long nanoseconds)
    {
        nanoseconds = 0;
        if (stamp.Length < 20 || stamp[^1] != 'Z'
            || !DateTime.TryParseExact(stamp[..19], "yyyy-MM-ddTHH:mm:ss", CultureInfo.InvariantCulture,
                DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var whole))
        {
            return false;
        }

        long fraction = 0;
        var digits = stamp[19] == '.' ? stamp[20..^1] : [];
        if (digits.Length > 9 || (digits.Length > 0 && !long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out fraction)))
        {
            return false;
        }

        for (var i = digits.Length; i < 9; i++)
        {
            fraction *= 10;
        }

        nanoseconds = (new DateTimeOffset(whole, TimeSpan.Zero).ToUnixTimeSeconds() * 1_000_000_000) + fraction;
        return true;
    }

    public static long FromTime(DateTimeOffset time) => (time.ToUnixTimeMilliseconds() * 1_000_000) + (time.Ticks % TimeSpan.TicksPerMillisecond * 100);

    public static DateTimeOffset ToTime(long nanoseconds) =>
        DateTimeOffset.FromUnixTimeMilliseconds(nanoseconds / 1_000_000).AddTicks(nanoseconds % 1_000_000 / 100);

    /// <summary>The <c>since</c> parameter of the logs API: seconds.nanoseconds.</summary>
    public static string ToSinceParameter(long nanoseconds) =>
        string.Create(CultureInfo.InvariantCulture, $"{nanoseconds / 1_000_000_000}.{nanoseconds % 1_000_000_000:D9}");
}
