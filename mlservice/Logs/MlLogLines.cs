using System.Text.RegularExpressions;

namespace GpuSplit.MlService.Logs;

/// <summary>A worker process loading one model component: <c>Loading visual model 'ViT-B-32__openai' to memory</c>.</summary>
/// <param name="Type">Immich's model type: visual, textual, detection, recognition (older versions: clip, facial recognition).</param>
public sealed record ModelLoadLine(string Type, string Model)
{
    public override string ToString() => $"{Type} model '{Model}'";
}

/// <summary>
/// The lines of Immich's ML service (machine-learning/immich_ml) that say what its worker process does with GPU memory,
/// and the ONNX Runtime lines that say it ran out of it.
/// </summary>
public static partial class MlLogLines
{
    /// <summary>immich_ml/main.py: the model TTL ended the worker process; its models and GPU memory are gone.</summary>
    public const string InactivityShutdown = "Shutting down due to inactivity.";

    /// <summary>
    /// ONNX Runtime's words for CUDA running out of memory: the CUDA allocator, cuBLAS, and the BFC arena of each session.
    /// </summary>
    public static LogPatterns CudaOutOfMemory { get; } = new(
        "out of memory",
        "CUBLAS_STATUS_ALLOC_FAILED",
        "Failed to allocate memory for requested buffer",
        "BFCArena::AllocateRawInternal",
        "BFCArena::Extend",
        "cudaErrorMemoryAllocation")
    {
        // gunicorn's arbiter when the kernel killed a worker child for host memory; the arbiter starts another
        // worker itself, and the GPU is not involved.
        Unless = ["Perhaps out of memory?"],
    };

    /// <summary>
    /// immich_ml/models/base.py logs <c>Loading {type} model '{name}' to memory</c> before a worker creates the model's
    /// session. Its console handler wraps long lines at 80 columns, so "to memory" may land on the next line: the
    /// type and the quoted name are what count. "Downloading ..." is a different line.
    /// </summary>
    public static bool TryParseModelLoad(string line, out ModelLoadLine load)
    {
        var match = ModelLoad().Match(line);
        load = match.Success ? new ModelLoadLine(match.Groups["type"].Value, match.Groups["name"].Value) : new ModelLoadLine("", "");
        return match.Success;
    }

    public static bool IsInactivityShutdown(string line) => line.Contains(InactivityShutdown, StringComparison.Ordinal);

    [GeneratedRegex(@"(?<![A-Za-z])Loading (?<type>[a-z]+(?: [a-z]+)?) model '(?<name>[^'\s]+)'")]
    private static partial Regex ModelLoad();
}
