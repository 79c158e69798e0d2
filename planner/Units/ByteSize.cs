using System.Globalization;
using System.Text.RegularExpressions;

namespace GpuSplit.Planner.Units;

/// <summary>
/// Sizes as people type them for a graphics card. Cards are sold in binary units ("6GB" is 6144 MiB as nvidia-smi
/// shows it), so GB, MB and KB mean GiB, MiB and KiB here, and the bare letters G, M, K too. A number without a unit
/// is MiB, the figure nvidia-smi prints for the card ("6144MiB"); B asks for bytes.
/// </summary>
public static partial class ByteSize
{
    public const long KiB = 1024;
    public const long MiB = 1024 * KiB;
    public const long GiB = 1024 * MiB;

    /// <summary>
    /// Below this a bare number is not a card in MiB (the smallest CUDA cards have 256 MiB) but almost surely GB
    /// without its unit: "6" is refused with a hint rather than planned as 6 MiB.
    /// </summary>
    public const int SmallestBareMiB = 256;

    public static bool TryParse(string? text, out long bytes, out string error)
    {
        bytes = 0;
        var match = SizePattern().Match(text ?? string.Empty);
        if (!match.Success)
        {
            error = $"'{text}' is not a size; write it like 6GB, 6GiB, 6144MiB or 6144 (MiB, as nvidia-smi prints it)";
            return false;
        }

        // More digits than a decimal holds is a size no card has, not a crash.
        if (!decimal.TryParse(match.Groups["number"].Value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var number))
        {
            error = $"'{text}' is too large for a size";
            return false;
        }

        var unitText = match.Groups["unit"].Value;
        if (unitText.Length == 0 && number > 0 && number < SmallestBareMiB)
        {
            error = $"'{text}' without a unit is {text!.Trim()} MiB, too small for a card; did you mean {text.Trim()}GB?";
            return false;
        }

        var unit = unitText.ToUpperInvariant() switch
        {
            "" or "M" or "MB" or "MIB" => MiB,
            "B" => 1,
            "K" or "KB" or "KIB" => KiB,
            "G" or "GB" or "GIB" => GiB,
            "T" or "TB" or "TIB" => 1024 * GiB,
            _ => 0,
        };
        if (unit == 0)
        {
            error = $"'{text}' has an unknown unit '{unitText}'; use GB, GiB, MB, MiB, G or M";
            return false;
        }

        if (number > long.MaxValue / unit)
        {
            error = $"'{text}' is too large for a size";
            return false;
        }

        var value = number * unit;
        if (value <= 0)
        {
            error = $"'{text}' must be larger than zero";
            return false;
        }

        bytes = (long)Math.Round(value);
        error = string.Empty;
        return true;
    }

    public static long Parse(string text) =>
        TryParse(text, out var bytes, out var error) ? bytes : throw new FormatException(error);

    /// <summary>MiB, rounded, the unit nvidia-smi and Immich's docs use.</summary>
    public static long ToMiB(long bytes) => (long)Math.Round(bytes / (double)MiB, MidpointRounding.AwayFromZero);

    public static string FormatMiB(long bytes) => $"{ToMiB(bytes).ToString("N0", CultureInfo.InvariantCulture)} MiB";

    [GeneratedRegex(@"^\s*(?<number>\d+(\.\d+)?)\s*(?<unit>[A-Za-z]*)\s*$", RegexOptions.CultureInvariant)]
    private static partial Regex SizePattern();
}
