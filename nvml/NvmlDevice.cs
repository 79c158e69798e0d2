using System.Runtime.InteropServices;
using GpuSplit.Nvml.Native;

namespace GpuSplit.Nvml;

/// <summary>
/// One GPU of an open <see cref="NvmlLibrary"/>. Every member reads NVML anew (nothing is cached) and
/// throws <see cref="NvmlException"/> on failure, e.g. with <see cref="NvmlReturn.GpuIsLost"/>.
/// Valid while its library is open; thread-safe like the library.
/// </summary>
public sealed class NvmlDevice
{
    private const int TextBufferSize = 96;
    private const int TemperatureSensorGpu = 0;

    // Each retry follows a process list that grew between the size query and the fetch.
    private const int ProcessListAttempts = 5;

    private readonly NvmlLibrary _library;
    private readonly nint _handle;

    internal NvmlDevice(NvmlLibrary library, int index, nint handle)
    {
        _library = library;
        _handle = handle;
        Index = index;
    }

    public int Index { get; }

    /// <summary>The marketing name, e.g. <c>NVIDIA GeForce GTX 1060 6GB</c>.</summary>
    public unsafe string GetName()
    {
        _library.ThrowIfDisposed();
        var buffer = stackalloc byte[TextBufferSize];
        NvmlCall.Check("nvmlDeviceGetName", NativeMethods.DeviceGetName(_handle, buffer, TextBufferSize));
        return Marshal.PtrToStringUTF8((nint)buffer) ?? string.Empty;
    }

    /// <summary>The stable identity of the card, e.g. <c>GPU-5a1c...</c>; survives reordering and reboots.</summary>
    public unsafe string GetUuid()
    {
        _library.ThrowIfDisposed();
        var buffer = stackalloc byte[TextBufferSize];
        NvmlCall.Check("nvmlDeviceGetUUID", NativeMethods.DeviceGetUuid(_handle, buffer, TextBufferSize));
        return Marshal.PtrToStringUTF8((nint)buffer) ?? string.Empty;
    }

    public GpuMemory GetMemory()
    {
        _library.ThrowIfDisposed();
        NvmlCall.Check("nvmlDeviceGetMemoryInfo", NativeMethods.DeviceGetMemoryInfo(_handle, out var memory));
        return new GpuMemory(memory.Total, memory.Free, memory.Used);
    }

    public ComputeCapability GetComputeCapability()
    {
        _library.ThrowIfDisposed();
        NvmlCall.Check("nvmlDeviceGetCudaComputeCapability",
            NativeMethods.DeviceGetCudaComputeCapability(_handle, out var major, out var minor));
        return new ComputeCapability(major, minor);
    }

    public GpuUtilization GetUtilization() =>
        ReadUtilization() ?? throw NotSupported("nvmlDeviceGetUtilizationRates");

    public uint GetTemperatureCelsius() =>
        ReadTemperature() ?? throw NotSupported("nvmlDeviceGetTemperature");

    public uint GetPowerMilliwatts() =>
        ReadPower() ?? throw NotSupported("nvmlDeviceGetPowerUsage");

    /// <summary>The processes with a compute (CUDA) context on this device, with their used memory.</summary>
    public unsafe IReadOnlyList<GpuProcess> GetComputeProcesses() =>
        GetProcesses("nvmlDeviceGetComputeRunningProcesses_v3", &NativeMethods.DeviceGetComputeRunningProcesses);

    /// <summary>The processes with a graphics context on this device (a game, a compositor), with their used memory.</summary>
    public unsafe IReadOnlyList<GpuProcess> GetGraphicsProcesses() =>
        GetProcesses("nvmlDeviceGetGraphicsRunningProcesses_v3", &NativeMethods.DeviceGetGraphicsRunningProcesses);

    /// <summary>
    /// Compute and graphics processes as one list: a process with both contexts is in both of NVML's lists with the
    /// same memory, and counts once.
    /// </summary>
    public IReadOnlyList<GpuProcess> GetProcesses() =>
        GetComputeProcesses().Concat(GetGraphicsProcesses())
            .GroupBy(p => p.Pid)
            .Select(g => g.MaxBy(p => p.UsedMemoryBytes ?? 0)!)
            .ToArray();

    private unsafe IReadOnlyList<GpuProcess> GetProcesses(string function,
        delegate*<nint, ref uint, NvmlProcessInfo*, NvmlReturn> list)
    {
        _library.ThrowIfDisposed();
        uint count = 0;
        for (var attempt = 0; attempt < ProcessListAttempts; attempt++)
        {
            var infos = new NvmlProcessInfo[count];
            NvmlReturn result;
            fixed (NvmlProcessInfo* buffer = infos)
            {
                result = list(_handle, ref count, buffer);
            }

            if (result == NvmlReturn.Success)
            {
                return infos.Take((int)count)
                    .Select(info => new GpuProcess(info.Pid,
                        info.UsedGpuMemory == NvmlProcessInfo.ValueNotAvailable ? null : info.UsedGpuMemory))
                    .ToArray();
            }

            if (result != NvmlReturn.InsufficientSize)
            {
                NvmlCall.Check(function, result);
            }
        }

        // The list kept growing faster than it could be fetched.
        throw new NvmlException(function, NvmlReturn.InsufficientSize,
            $"the process list still grew after {ProcessListAttempts} attempts");
    }

    /// <summary>Everything about this device in one read; readings the card does not support are null.</summary>
    public GpuSnapshot Read() => new(
        Index,
        GetName(),
        GetUuid(),
        GetComputeCapability(),
        GetMemory(),
        GetProcesses(),
        ReadUtilization(),
        ReadTemperature(),
        ReadPower());

    private GpuUtilization? ReadUtilization()
    {
        _library.ThrowIfDisposed();
        var result = NativeMethods.DeviceGetUtilizationRates(_handle, out var rates);
        return NvmlCall.Optional("nvmlDeviceGetUtilizationRates", result, rates) is { } r
            ? new GpuUtilization(r.Gpu, r.Memory)
            : null;
    }

    private uint? ReadTemperature()
    {
        _library.ThrowIfDisposed();
        var result = NativeMethods.DeviceGetTemperature(_handle, TemperatureSensorGpu, out var celsius);
        return NvmlCall.Optional("nvmlDeviceGetTemperature", result, celsius);
    }

    private uint? ReadPower()
    {
        _library.ThrowIfDisposed();
        var result = NativeMethods.DeviceGetPowerUsage(_handle, out var milliwatts);
        return NvmlCall.Optional("nvmlDeviceGetPowerUsage", result, milliwatts);
    }

    private static NvmlException NotSupported(string function) =>
        new(function, NvmlReturn.NotSupported, "this device does not report it");
}
