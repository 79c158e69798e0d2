namespace GpuSplit.Planner.Measure;

/// <summary>One input tensor to feed: its name, ONNX element type and concrete shape.</summary>
public sealed record PlannedInput(string Name, string ElementType, IReadOnlyList<long> Shape)
{
    public override string ToString() => $"{Name}[{string.Join(",", Shape)}]";
}
