using GpuSplit.Nvml;
using GpuSplit.Planner.Measure;
using GpuSplit.PlannerMeasure.Probes;

namespace GpuSplit.PlannerMeasure.Runtime;

/// <summary>
/// Everything a run needs before the first model: the ONNX Runtime library, and on a GPU, NVML with the card's
/// name and a check that the runtime has kernels for it. Opened once per `planner measure`.
/// </summary>
public sealed class MeasureEnvironment : IDisposable
{
    private readonly NvmlLibrary? nvml;

    private MeasureEnvironment(MeasureDevice device, string deviceKey, string runtime, IMemoryProbe probe, NvmlLibrary? nvml)
    {
        Device = device;
        DeviceKey = deviceKey;
        Runtime = runtime;
        Probe = probe;
        this.nvml = nvml;
    }

    public MeasureDevice Device { get; }

    /// <summary>The measurements file's key: the card's NVML name, or "cpu".</summary>
    public string DeviceKey { get; }

    public string Runtime { get; }

    public IMemoryProbe Probe { get; }

    /// <exception cref="MeasureException">No usable runtime or GPU; the message says which and what to do.</exception>
    public static MeasureEnvironment Open(MeasureDevice device, string? ortLibrary, string? nvmlLibrary)
    {
        if (ortLibrary is not null)
        {
            OrtRuntime.UseLibrary(ortLibrary);
        }

        // The figures are only as good as the runtime that produced them: the file says which, and from where.
        var from = ortLibrary is null ? "" : $" from {Path.GetFullPath(ortLibrary)}";
        if (!device.IsCuda)
        {
            return new MeasureEnvironment(device, MeasureDevice.CpuKey, $"ONNX Runtime {OrtRuntime.Version()}{from}", new PrivateMemoryProbe(), null);
        }

        var nvml = OpenNvml(device, nvmlLibrary);
        try
        {
            var count = nvml.DeviceCount;
            if (device.Index >= count)
            {
                throw new MeasureException($"{device}: this machine has {count} NVIDIA GPU{(count == 1 ? "" : "s")} (cuda:0 to cuda:{count - 1})");
            }

            // NVML numbers cards in PCI bus order and CUDA fastest first; they agree on a one-GPU box, and
            // everywhere with CUDA_DEVICE_ORDER=PCI_BUS_ID.
            var gpu = nvml.GetDevice(device.Index);
            var name = gpu.GetName();
            CudaSupport.Check(name, gpu.GetComputeCapability(), customLibrary: ortLibrary is not null);
            var probe = new NvmlMemoryProbe(gpu, Environment.ProcessId);
            return new MeasureEnvironment(device, name, $"ONNX Runtime {OrtRuntime.Version()}{from}, CUDA", probe, nvml);
        }
        catch (NvmlException e)
        {
            nvml.Dispose();
            throw new MeasureException($"{device}: {e.Message}", e);
        }
        catch
        {
            nvml.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        (Probe as IDisposable)?.Dispose();
        nvml?.Dispose();
    }

    private static NvmlLibrary OpenNvml(MeasureDevice device, string? nvmlLibrary)
    {
        try
        {
            return NvmlLibrary.Open(nvmlLibrary);
        }
        catch (NvmlUnavailableException e)
        {
            throw new MeasureException($"{device}: {e.Message}; measure host memory with --device cpu instead", e);
        }
        catch (NvmlException e)
        {
            throw new MeasureException($"{device}: NVML cannot start: {e.Message}", e);
        }
    }
}
