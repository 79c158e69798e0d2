using GpuSplit.Planner.Measure;
using Microsoft.ML.OnnxRuntime;

namespace GpuSplit.PlannerMeasure.Runtime;

/// <summary>
/// Session options as Immich's ML service sets them (immich_ml/sessions/ort.py, config.py), so a measured
/// footprint is the one the service will have.
/// </summary>
public static class ImmichSessionOptions
{
    public static SessionOptions For(MeasureDevice device)
    {
        // MACHINE_LEARNING_MODEL_ARENA defaults to true. On CPU, Immich's provider options are not applied
        // (ONNX Runtime's Python binding builds the CPU provider from enable_cpu_mem_arena alone), so the CPU
        // arena keeps ONNX Runtime's default extend strategy here too.
        var options = new SessionOptions { EnableCpuMemArena = true };
        if (!device.IsCuda)
        {
            // Immich's defaults for CPU-only sessions: one inter-op thread, two intra-op threads.
            options.InterOpNumThreads = 1;
            options.IntraOpNumThreads = 2;
            return options;
        }

        // Only these two CUDA options are set by Immich; cuDNN's algorithm search stays at ONNX Runtime's
        // default (EXHAUSTIVE), no gpu_mem_limit. The CPU provider follows as the fallback, as in Immich.
        using var cuda = new OrtCUDAProviderOptions();
        cuda.UpdateOptions(new Dictionary<string, string>
        {
            ["device_id"] = device.Index.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["arena_extend_strategy"] = "kSameAsRequested",
        });
        options.AppendExecutionProvider_CUDA(cuda);
        return options;
    }
}
