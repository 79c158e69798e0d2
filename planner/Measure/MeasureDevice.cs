using System.Globalization;

namespace GpuSplit.Planner.Measure;

/// <summary>Where `planner measure` runs the models: the CPU (host memory) or one CUDA GPU (VRAM).</summary>
public sealed record MeasureDevice(bool IsCuda, int Index)
{
    public static MeasureDevice Cpu { get; } = new(false, 0);

    /// <summary>The measurements file's key for CPU figures (GPU figures are keyed by the card's NVML name).</summary>
    public const string CpuKey = "cpu";

    public static bool TryParse(string? text, out MeasureDevice device)
    {
        device = Cpu;
        if (text == "cpu")
        {
            return true;
        }

        if (text == "cuda")
        {
            device = new MeasureDevice(true, 0);
            return true;
        }

        if (text?.StartsWith("cuda:", StringComparison.Ordinal) == true
            && int.TryParse(text.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out var index))
        {
            device = new MeasureDevice(true, index);
            return true;
        }

        return false;
    }

    public override string ToString() => IsCuda ? $"cuda:{Index}" : "cpu";
}
