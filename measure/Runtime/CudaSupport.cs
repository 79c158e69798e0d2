using GpuSplit.Nvml;
using GpuSplit.Planner.Measure;

namespace GpuSplit.PlannerMeasure.Runtime;

/// <summary>
/// Whether the bundled ONNX Runtime can run on a card. The NuGet builds (1.30, 1.31) carry CUDA kernels for
/// architectures 75, 80 and 90 only (onnxruntime PR 23309); an older card such as the GTX 1060 (6.1) fails with
/// cudaErrorNoKernelImageForDevice deep inside the first run (onnxruntime issue 27588). It is refused up front.
/// The 1.31 CUDA provider also links CUDA 13's libraries (libcublas.so.13, libcudart.so.13), and CUDA 13 dropped
/// Pascal: a build for such a card has to be made against CUDA 12, like the one in Immich's image.
/// </summary>
public static class CudaSupport
{
    public static ComputeCapability BundledMinimum { get; } = new(7, 5);

    /// <exception cref="MeasureException">The bundled runtime has no kernels for this card.</exception>
    public static void Check(string card, ComputeCapability capability, bool customLibrary)
    {
        if (customLibrary || (capability.Major, capability.Minor).CompareTo((BundledMinimum.Major, BundledMinimum.Minor)) >= 0)
        {
            return;
        }

        var arch = $"{capability.Major}{capability.Minor}";
        throw new MeasureException(
            $"{card} has CUDA compute capability {capability}; the ONNX Runtime bundled with planner-measure (NuGet 1.31) has kernels for "
            + $"{BundledMinimum} and newer only, so it cannot run on this card. Fix: build ONNX Runtime 1.31 or later against CUDA 12 "
            + $"with CMAKE_CUDA_ARCHITECTURES={arch} (sm_{arch}) and pass its libonnxruntime.so with --ort-library PATH");
    }
}
