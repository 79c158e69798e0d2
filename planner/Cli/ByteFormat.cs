using System.Globalization;

namespace GpuSplit.Planner.Cli;

/// <summary>Byte counts as people read them: binary units, as nvidia-smi and ONNX Runtime's logs show memory.</summary>
internal static class ByteFormat
{
    private static readonly string[] Units = ["B", "KiB", "MiB", "GiB", "TiB"];

    public static string Format(long bytes)
    {
        var value = (double)Math.Abs(bytes);
        var unit = 0;
        while (value >= 1024 && unit < Units.Length - 1)
        {
            value /= 1024;
            unit++;
        }

        var sign = bytes < 0 ? "-" : "";
        return unit == 0
            ? $"{sign}{value.ToString("0", CultureInfo.InvariantCulture)} B"
            : $"{sign}{value.ToString("0.0", CultureInfo.InvariantCulture)} {Units[unit]}";
    }
}
