namespace GpuSplit.Planner.Onnx;

/// <summary>A file that is not a readable ONNX model (truncated, corrupt, missing its external data).</summary>
/// <remarks>The message is one line a person can act on; callers print it as it is.</remarks>
public sealed class OnnxFormatException(string message) : Exception(message);
