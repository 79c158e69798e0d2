using System.Globalization;

namespace GpuSplit.Bench;

/// <summary>Order statistics for benchmark samples (nearest-rank percentiles: every figure is a real sample).</summary>
public static class Stats
{
    public static double Median(IReadOnlyCollection<double> values) => Percentile(values, 0.5);

    public static double Percentile(IReadOnlyCollection<double> values, double share)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }

        var sorted = values.Order().ToList();
        return sorted[(int)Math.Clamp(Math.Ceiling(share * sorted.Count) - 1, 0, sorted.Count - 1)];
    }

    public static string Ms(double milliseconds) => milliseconds.ToString("0.000", CultureInfo.InvariantCulture);
}
