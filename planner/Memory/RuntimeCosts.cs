namespace GpuSplit.Planner.Memory;

/// <summary>
/// The costs that do not belong to any model. Each default carries its source; docs/memory-model.md explains them.
/// </summary>
/// <param name="CudaContextBytes">
/// The CUDA context of one worker process with lazy module loading (the default from CUDA 12.2, which Immich's
/// image uses): 287 MB measured in pytorch/pytorch PR 86509 (666 MB eager). Paid once per worker.
/// </param>
/// <param name="ReserveBytes">
/// Memory kept free on every CUDA GPU for the driver and the libraries' own allocations outside ONNX Runtime's
/// arena (cuDNN and cuBLAS handles and their workspaces, fragmentation): Ollama keeps 457 MiB
/// (ollama/ollama discover/gpu.go, cudaMinimumMemory). Paid once per GPU.
/// </param>
/// <param name="ConvWorkspaceBytes">
/// cuDNN scratch for a network with convolutions, per request in flight: ONNX Runtime's algorithm-search
/// workspace, AlgoSearchWorkspaceSize = 32 MiB (onnxruntime core/providers/cuda/nn/conv.h). A floor: with
/// cudnn_conv_use_max_workspace on (the default since 1.14, and Immich does not turn it off) the search may take
/// the largest workspace that fits in 90% of the free memory, which no static figure can bound.
/// </param>
public sealed record RuntimeCosts(long CudaContextBytes, long ReserveBytes, long ConvWorkspaceBytes)
{
    public static RuntimeCosts Cuda { get; } = new(CudaContextBytes: 287_000_000, ReserveBytes: 457 * 1024 * 1024, ConvWorkspaceBytes: 32 * 1024 * 1024);

    /// <summary>Where <see cref="CudaContextBytes"/> came from: the estimate above, or the card itself.</summary>
    public FigureOrigin ContextOrigin { get; init; } = FigureOrigin.Estimate;

    /// <summary>Which file, run or agent the context figure came from; null for the estimate.</summary>
    public string? ContextSource { get; init; }

    /// <summary>These costs with a worker's context as one was measured or observed on the card.</summary>
    public RuntimeCosts WithContext(FigureContext? context) => context is { } c
        ? this with { CudaContextBytes = c.Bytes, ContextOrigin = c.Origin, ContextSource = c.Source }
        : this;
}

/// <summary>A worker's CUDA context as measured or observed on one card, and where that figure came from.</summary>
public sealed record FigureContext(long Bytes, FigureOrigin Origin, string Source);
