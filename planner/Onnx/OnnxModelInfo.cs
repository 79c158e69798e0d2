namespace GpuSplit.Planner.Onnx;

/// <summary>What static analysis learns from an ONNX file without creating a session.</summary>
public sealed record OnnxModelInfo(
    string Path,
    long FileBytes,
    long IrVersion,
    string Producer,
    IReadOnlyList<OnnxOpset> Opsets,
    IReadOnlyList<OnnxValue> Inputs,
    IReadOnlyList<OnnxValue> Outputs,
    WeightSummary Weights)
{
    /// <summary>The version of the default ONNX operator set, or null when the model imports none.</summary>
    public long? Opset => Opsets.FirstOrDefault(o => o.Domain == OnnxOpset.DefaultDomain)?.Version;
}

public sealed record OnnxOpset(string Domain, long Version)
{
    public const string DefaultDomain = "ai.onnx";
}

/// <summary>A graph input or output. <see cref="Shape"/> is null when the model does not declare one.</summary>
public sealed record OnnxValue(string Name, string ElementType, IReadOnlyList<OnnxDim>? Shape)
{
    public override string ToString() =>
        $"{Name}: {ElementType}{(Shape is null ? " (shape not declared)" : $"[{string.Join(", ", Shape)}]")}";
}

/// <summary>A dimension: a number, a symbolic name (dynamic, e.g. "batch"), or unknown.</summary>
public sealed record OnnxDim(long? Value, string? Param)
{
    public bool IsFixed => Value is not null;

    public override string ToString() => Value?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? Param ?? "?";
}

/// <summary>
/// The bytes a model's weights take in memory once loaded: element count times element size, wherever
/// the file stores them (inline <c>raw_data</c> or typed fields, external data files, tensors inside
/// node attributes such as <c>Constant</c>, subgraphs of <c>If</c>/<c>Loop</c>, sparse tensors densified).
/// </summary>
public sealed record WeightSummary(
    int TensorCount,
    long InlineBytes,
    long ExternalBytes,
    long ConstantBytes,
    IReadOnlyList<string> ExternalFiles)
{
    public long TotalBytes => InlineBytes + ExternalBytes + ConstantBytes;
}
