using System.Globalization;

namespace GpuSplit.Planner.Units;

public static class Percent
{
    /// <summary>"10%" or "10" or "0.1" as a fraction in [0, 1).</summary>
    public static bool TryParse(string? text, out double fraction, out string error)
    {
        fraction = 0;
        var trimmed = (text ?? string.Empty).Trim();
        var isPercent = trimmed.EndsWith('%');
        if (!double.TryParse(trimmed.TrimEnd('%'), NumberStyles.Float, CultureInfo.InvariantCulture, out var number) || number < 0)
        {
            error = $"'{text}' is not a percentage; write it like 10%";
            return false;
        }

        fraction = isPercent || number >= 1 ? number / 100 : number;
        if (fraction >= 1)
        {
            error = $"'{text}' must be under 100%";
            return false;
        }

        error = string.Empty;
        return true;
    }
}
