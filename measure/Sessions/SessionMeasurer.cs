using GpuSplit.Planner.Measure;
using GpuSplit.Planner.Memory;
using GpuSplit.Planner.Onnx;
using GpuSplit.PlannerMeasure.Runtime;
using Microsoft.ML.OnnxRuntime;

namespace GpuSplit.PlannerMeasure.Sessions;

/// <summary>
/// Measures components one after another in this process: the bare context once, then for each component a
/// session created as Immich creates it, one request at Immich's shape and batch, and the session released.
/// </summary>
public sealed class SessionMeasurer(MeasureDevice device, IMemoryProbe probe, TimeProvider time) : IDisposable
{
    private readonly Random random = new(20_26);
    private InferenceSession? context;

    /// <summary>
    /// Starts the bare context and returns its memory. The context session stays open until disposal, as the
    /// ML service's process keeps its runtime and CUDA context while models come and go.
    /// </summary>
    public long StartContext()
    {
        context = Load(options => new InferenceSession(ContextModel.Bytes, options), device.IsCuda
            ? $"ONNX Runtime cannot start on {device} (its CUDA provider needs the CUDA and cuDNN libraries it was built for; the bundled one: CUDA 13, cuDNN 9)"
            : $"ONNX Runtime cannot start on {device}");

        using var input = OrtValue.CreateTensorValueFromMemory(new float[] { 1 }, [1L]);
        using var runOptions = new RunOptions();
        using (context.Run(runOptions, [ContextModel.Input], [input], [ContextModel.Output]))
        {
        }

        NativeHeap.Trim();
        return probe.Read().ProcessBytes;
    }

    /// <summary>Reads the file, plans Immich's inputs from the catalog, and measures the component.</summary>
    /// <exception cref="MeasureException">The file is unreadable, its inputs do not match the catalog, or ONNX Runtime fails.</exception>
    public ComponentMeasurement Measure(MeasureTarget target)
    {
        OnnxModelInfo info;
        try
        {
            info = OnnxModelReader.Read(target.Cached.Path);
        }
        catch (OnnxFormatException e)
        {
            throw new MeasureException(e.Message, e);
        }

        return Measure(target.Cached, info, InputPlan.Resolve(info, target.Component.Input));
    }

    /// <exception cref="MeasureException">ONNX Runtime cannot load or run the model.</exception>
    public ComponentMeasurement Measure(CachedComponent component, OnnxModelInfo info, IReadOnlyList<PlannedInput> inputs)
    {
        NativeHeap.Trim();
        MemoryReading before, afterLoad, loadPeak;
        TimeSpan loadTime, runTime;
        using (var sampler = new PeakSampler(probe))
        {
            before = sampler.ReadNow();
            var started = time.GetTimestamp();
            using (var session = Load(component.Path))
            {
                loadTime = time.GetElapsedTime(started);
                afterLoad = sampler.ReadNow();
                loadPeak = sampler.Peak;

                // The run's peak is what a request costs on top of the loaded model; a transient of the load
                // (the file's bytes and the runtime's copy alive together) is kept apart from it.
                sampler.StartPhase(afterLoad);
                runTime = Run(session, inputs, sampler);
            }

            var runPeak = sampler.Peak;
            NativeHeap.Trim();
            return new ComponentMeasurement(
                component.Model,
                component.Task,
                component.Type,
                component.Path,
                info.FileBytes,
                info.Weights.TotalBytes,
                inputs,
                new ProcessReadings(before.ProcessBytes, afterLoad.ProcessBytes, loadPeak.ProcessBytes, runPeak.ProcessBytes, runPeak.DeviceBytes),
                loadTime,
                runTime);
        }
    }

    /// <summary>
    /// Feeds one session every size of the component's varying axis that Immich sends (the catalog's
    /// <c>varies</c>, from its smallest to the shape's largest), smallest first as a growing arena sees them, then
    /// every size again, reading the process after each request.
    /// </summary>
    /// <exception cref="MeasureException">The component's input does not vary, or ONNX Runtime fails.</exception>
    public SizeSweep Sweep(MeasureTarget target)
    {
        if (target.Component.Input is not { Varying: { } varying } input)
        {
            throw new MeasureException($"{target.Label}: the catalog gives this component one input size; there is nothing to sweep");
        }

        OnnxModelInfo info;
        try
        {
            info = OnnxModelReader.Read(target.Cached.Path);
        }
        catch (OnnxFormatException e)
        {
            throw new MeasureException(e.Message, e);
        }

        var largest = input.Shape[varying.Axis];
        var sizes = new List<long>();
        for (var size = varying.From; size <= largest; size += varying.Step)
        {
            sizes.Add(size);
        }

        NativeHeap.Trim();
        using var sampler = new PeakSampler(probe);
        var before = sampler.ReadNow();
        using var session = Load(target.Cached.Path);
        var afterLoad = sampler.ReadNow();
        var steps = new List<SizeStep>();
        foreach (var pass in new[] { 1, 2 })
        {
            foreach (var size in sizes)
            {
                var shape = input.Shape.ToArray();
                shape[varying.Axis] = size;
                var inputs = InputPlan.Resolve(info, input with { Shape = shape });
                sampler.StartPhase(sampler.ReadNow());
                Run(session, inputs, sampler);
                var peak = sampler.Peak;
                steps.Add(new SizeStep(pass, size, inputs, peak.ProcessBytes, sampler.ReadNow().ProcessBytes));
            }
        }

        var largestRequest = steps.First(s => s.Pass == 1 && s.Size == largest).PeakBytes - afterLoad.ProcessBytes;
        var modelKept = ComponentLoads.Ratchet(target.Component, largestRequest) + largestRequest;
        return new SizeSweep(target.Label, varying.Axis, before.ProcessBytes, afterLoad.ProcessBytes, steps, modelKept);
    }

    public void Dispose() => context?.Dispose();

    private TimeSpan Run(InferenceSession session, IReadOnlyList<PlannedInput> inputs, PeakSampler sampler)
    {
        var values = new List<OrtValue>(inputs.Count);
        try
        {
            values.AddRange(inputs.Select(input => RandomInputs.Create(input, random)));
            using var runOptions = new RunOptions();
            var started = time.GetTimestamp();
            try
            {
                using var outputs = session.Run(runOptions, inputs.Select(i => i.Name).ToList(), values, session.OutputNames);
                var elapsed = time.GetElapsedTime(started);
                // Read while the outputs are still held: Immich holds them too until it has post-processed them.
                sampler.ReadNow();
                return elapsed;
            }
            catch (OnnxRuntimeException e)
            {
                throw new MeasureException($"inference on {string.Join(", ", inputs)} failed: {FirstLine(e.Message)}", e);
            }
        }
        finally
        {
            values.ForEach(v => v.Dispose());
        }
    }

    private InferenceSession Load(string path) => Load(options => new InferenceSession(path, options), "ONNX Runtime cannot load it");

    /// <summary>Options and session together: appending the CUDA provider is where a missing CUDA library shows.</summary>
    private InferenceSession Load(Func<SessionOptions, InferenceSession> create, string failure)
    {
        try
        {
            using var options = ImmichSessionOptions.For(device);
            return create(options);
        }
        catch (OnnxRuntimeException e)
        {
            throw new MeasureException($"{failure}: {FirstLine(e.Message)}", e);
        }
    }

    private static string FirstLine(string message) => message.Split('\n', 2)[0].Trim();
}
