namespace GpuSplit.Planner.Onnx;

/// <summary>The memory model's weight term for a model file at hand.</summary>
public static class OnnxWeights
{
    /// <summary>
    /// Bytes the weights of the ONNX file at <paramref name="path"/> take once loaded (inline, external
    /// data and constants; see <see cref="WeightSummary"/>), read without creating a session.
    /// </summary>
    /// <exception cref="OnnxFormatException">Missing, unreadable, truncated or not an ONNX model.</exception>
    public static long Count(string path) => OnnxModelReader.Read(path).Weights.TotalBytes;
}
