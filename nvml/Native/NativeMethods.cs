using System.Runtime.InteropServices;

namespace GpuSplit.Nvml.Native;

/// <summary>
/// NVML's entry points. <see cref="LibraryName"/> is not a file name: <see cref="NvmlBinding"/> resolves it
/// to the library that <see cref="NvmlLibrary.Open"/> loaded.
/// </summary>
internal static unsafe partial class NativeMethods
{
    internal const string LibraryName = "gpusplit-nvml";

    /// <summary>The exports this binding calls; a library lacking one is refused at open time, not at the first call.</summary>
    internal static readonly string[] RequiredExports =
    [
        "nvmlInit_v2", "nvmlShutdown", "nvmlErrorString", "nvmlDeviceGetCount_v2", "nvmlDeviceGetHandleByIndex_v2",
        "nvmlDeviceGetName", "nvmlDeviceGetUUID", "nvmlDeviceGetMemoryInfo", "nvmlDeviceGetComputeRunningProcesses_v3",
        "nvmlDeviceGetGraphicsRunningProcesses_v3",
        "nvmlDeviceGetUtilizationRates", "nvmlDeviceGetTemperature", "nvmlDeviceGetPowerUsage",
        "nvmlDeviceGetCudaComputeCapability",
    ];

    [LibraryImport(LibraryName, EntryPoint = "nvmlInit_v2")]
    internal static partial NvmlReturn Init();

    [LibraryImport(LibraryName, EntryPoint = "nvmlShutdown")]
    internal static partial NvmlReturn Shutdown();

    [LibraryImport(LibraryName, EntryPoint = "nvmlErrorString")]
    internal static partial byte* ErrorString(NvmlReturn result);

    [LibraryImport(LibraryName, EntryPoint = "nvmlDeviceGetCount_v2")]
    internal static partial NvmlReturn DeviceGetCount(out uint count);

    [LibraryImport(LibraryName, EntryPoint = "nvmlDeviceGetHandleByIndex_v2")]
    internal static partial NvmlReturn DeviceGetHandleByIndex(uint index, out nint device);

    [LibraryImport(LibraryName, EntryPoint = "nvmlDeviceGetName")]
    internal static partial NvmlReturn DeviceGetName(nint device, byte* name, uint length);

    [LibraryImport(LibraryName, EntryPoint = "nvmlDeviceGetUUID")]
    internal static partial NvmlReturn DeviceGetUuid(nint device, byte* uuid, uint length);

    [LibraryImport(LibraryName, EntryPoint = "nvmlDeviceGetMemoryInfo")]
    internal static partial NvmlReturn DeviceGetMemoryInfo(nint device, out NvmlMemory memory);

    [LibraryImport(LibraryName, EntryPoint = "nvmlDeviceGetComputeRunningProcesses_v3")]
    internal static partial NvmlReturn DeviceGetComputeRunningProcesses(nint device, ref uint count, NvmlProcessInfo* infos);

    [LibraryImport(LibraryName, EntryPoint = "nvmlDeviceGetGraphicsRunningProcesses_v3")]
    internal static partial NvmlReturn DeviceGetGraphicsRunningProcesses(nint device, ref uint count, NvmlProcessInfo* infos);

    [LibraryImport(LibraryName, EntryPoint = "nvmlDeviceGetUtilizationRates")]
    internal static partial NvmlReturn DeviceGetUtilizationRates(nint device, out NvmlUtilization utilization);

    [LibraryImport(LibraryName, EntryPoint = "nvmlDeviceGetTemperature")]
    internal static partial NvmlReturn DeviceGetTemperature(nint device, int sensor, out uint temperature);

    [LibraryImport(LibraryName, EntryPoint = "nvmlDeviceGetPowerUsage")]
    internal static partial NvmlReturn DeviceGetPowerUsage(nint device, out uint milliwatts);

    [LibraryImport(LibraryName, EntryPoint = "nvmlDeviceGetCudaComputeCapability")]
    internal static partial NvmlReturn DeviceGetCudaComputeCapability(nint device, out int major, out int minor);
}

/// <summary><c>nvmlMemory_t</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NvmlMemory
{
    public ulong Total;
    public ulong Free;
    public ulong Used;
}

/// <summary><c>nvmlUtilization_t</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NvmlUtilization
{
    public uint Gpu;
    public uint Memory;
}

/// <summary><c>nvmlProcessInfo_t</c> (v2/v3): pid at 0, usedGpuMemory at 8, instance ids at 16 and 20; 24 bytes.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct NvmlProcessInfo
{
    /// <summary>NVML_VALUE_NOT_AVAILABLE: what usedGpuMemory holds when the driver cannot tell (Windows WDDM).</summary>
    public const ulong ValueNotAvailable = ulong.MaxValue;

    public uint Pid;
    public ulong UsedGpuMemory;
    public uint GpuInstanceId;
    public uint ComputeInstanceId;
}
