namespace GpuSplit.Planner.Measure;

/// <summary>One component could not be measured; the message is the one line printed for it.</summary>
public sealed class MeasureException(string message, Exception? inner = null) : Exception(message, inner);
