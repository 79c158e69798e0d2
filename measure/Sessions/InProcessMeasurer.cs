using GpuSplit.Planner.Cli;
using GpuSplit.Planner.Measure;
using GpuSplit.PlannerMeasure.Runtime;

namespace GpuSplit.PlannerMeasure.Sessions;

/// <summary>The bare context first, then every target in turn, then the size sweeps, in this process's ONNX Runtime.</summary>
internal sealed class InProcessMeasurer : IInProcessMeasurer
{
    public (MeasureRun Run, IReadOnlyList<SizeSweep> Sweeps) Run(
        MeasureDevice device, MeasurePlan plan, string? ortLibrary, string? nvmlLibrary, bool sizes, MeasureProgress progress, CancellationToken cancellationToken)
    {
        var failures = new List<MeasureFailure>(plan.Failures);
        var measured = new List<ComponentMeasurement>();
        using var environment = MeasureEnvironment.Open(device, ortLibrary, nvmlLibrary);
        using var measurer = new SessionMeasurer(device, environment.Probe, TimeProvider.System);
        var context = progress.Step("bare context (runtime and provider, no model)", measurer.StartContext);
        foreach (var target in plan.Targets)
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                measured.Add(progress.Step(target.Label, () => measurer.Measure(target)));
            }
            catch (MeasureException e)
            {
                failures.Add(new MeasureFailure(target.Label, $"{target.Label}: {e.Message}"));
            }
        }

        var sweeps = new List<SizeSweep>();
        foreach (var target in sizes ? plan.Targets.Where(t => t.Component.Input?.Varying is not null) : [])
        {
            cancellationToken.ThrowIfCancellationRequested();
            try
            {
                sweeps.Add(progress.Step($"{target.Label} at every input size", () => measurer.Sweep(target)));
            }
            catch (MeasureException e)
            {
                failures.Add(new MeasureFailure(target.Label, $"{target.Label} (sizes): {e.Message}"));
            }
        }

        var run = new MeasureRun(environment.DeviceKey, MeasureRun.InProcess, environment.Runtime, environment.Probe.Method,
            TimeProvider.System.GetUtcNow(), context, measured, failures);
        return (run, sweeps);
    }
}
