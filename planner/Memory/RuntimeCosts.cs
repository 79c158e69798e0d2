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
public sealed record RuntimeCosts(long CudaContextBytes, long ReserveBytes)
{
    public static RuntimeCosts Cuda { get; } = new(CudaContextBytes: 287_000_000, ReserveBytes: 457 * 1024 * 1024);
}
