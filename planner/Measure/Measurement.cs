namespace GpuSplit.Planner.Measure;

/// <summary>Readings of the measured process's memory around one component's session.</summary>
/// <param name="BeforeLoadBytes">Just before the session is created (the context, and whatever earlier models left).</param>
/// <param name="AfterLoadBytes">Right after the session is created: the weights as the runtime holds them.</param>
/// <param name="LoadPeakBytes">The highest reading while the session was created (the file and the runtime's copy of it may meet).</param>
/// <param name="PeakBytes">The highest reading while the loaded session ran one request.</param>
/// <param name="DevicePeakBytes">The whole GPU's highest used memory during the request; null on the CPU.</param>
public sealed record ProcessReadings(long BeforeLoadBytes, long AfterLoadBytes, long LoadPeakBytes, long PeakBytes, long? DevicePeakBytes);

/// <summary>One component measured on one device.</summary>
/// <param name="WeightsBytes">The weights by static analysis of the file (see <see cref="Onnx.WeightSummary"/>).</param>
public sealed record ComponentMeasurement(
    string Model,
    string Task,
    string Type,
    string File,
    long FileBytes,
    long WeightsBytes,
    IReadOnlyList<PlannedInput> Inputs,
    ProcessReadings Process,
    TimeSpan LoadTime,
    TimeSpan RunTime)
{
    /// <summary>What loading the model added to the process: its weights as the runtime holds them.</summary>
    public long LoadedShareBytes => Process.AfterLoadBytes - Process.BeforeLoadBytes;

    /// <summary>What the model added to the process while serving a request: weights, activations, scratch.</summary>
    public long PeakShareBytes => Process.PeakBytes - Process.BeforeLoadBytes;

    /// <summary>What the model added to the process at the worst moment of loading.</summary>
    public long LoadPeakShareBytes => Process.LoadPeakBytes - Process.BeforeLoadBytes;

    public string Label => $"{Task}/{Model}/{Type}";
}

/// <summary>A component (or an --only name) that could not be measured, and why: <see cref="Message"/> is the whole line, naming it.</summary>
public sealed record MeasureFailure(string Label, string Message);

/// <summary>A whole `planner measure` run on one device.</summary>
/// <param name="Device">The measurements file's key: the GPU's NVML name, or "cpu".</param>
/// <param name="ContextBytes">The process with the runtime and its provider started but no model loaded.</param>
public sealed record MeasureRun(
    string Device,
    string Method,
    string Runtime,
    string MemoryMethod,
    DateTimeOffset MeasuredAt,
    long ContextBytes,
    IReadOnlyList<ComponentMeasurement> Components,
    IReadOnlyList<MeasureFailure> Failures)
{
    public const string InProcess = "in-process";

    public MeasurementUpdate ToUpdate() =>
        new(Device, Method, Runtime, MemoryMethod, MeasuredAt, ContextBytes, null, [.. Components.Select(c => ComponentEntry.From(c, this))], []);
}
