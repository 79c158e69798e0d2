using GpuSplit.Planner.Measure;

namespace GpuSplit.Planner.Cli;

/// <summary>
/// `measure --models`: each target loaded and run in ONNX Runtime in this process. The planner carries no ONNX
/// Runtime (it would make the calculator most users run hundreds of MB); planner-measure (measure/) supplies this.
/// </summary>
internal interface IInProcessMeasurer
{
    /// <summary>Measures every target; with <paramref name="sizes"/>, also sweeps each whose input varies (<see cref="SizeSweep"/>).</summary>
    /// <exception cref="MeasureException">No usable runtime or device; nothing was measured.</exception>
    (MeasureRun Run, IReadOnlyList<SizeSweep> Sweeps) Run(
        MeasureDevice device, MeasurePlan plan, string? ortLibrary, string? nvmlLibrary, bool sizes, MeasureProgress progress, CancellationToken cancellationToken);
}
