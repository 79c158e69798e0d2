using GpuSplit.Nvml.Native;

namespace GpuSplit.Nvml;

/// <summary>
/// An initialised NVML session: <see cref="Open"/> calls <c>nvmlInit_v2</c>, <see cref="Dispose"/> calls
/// <c>nvmlShutdown</c>. NVML counts initialisations, so several sessions may be open at once.
/// </summary>
/// <remarks>
/// Thread safety: NVML itself is thread-safe, and so is every reading member here and on
/// <see cref="NvmlDevice"/>; several threads may read at once. Dispose only when no other thread still reads.
/// One process uses one NVML library: the first successful <see cref="Open"/> binds its path for the life
/// of the process, and a later Open with a different library throws <see cref="InvalidOperationException"/>.
/// </remarks>
public sealed class NvmlLibrary : IDisposable
{
    private int _disposed;

    private NvmlLibrary(string libraryPath) => LibraryPath = libraryPath;

    /// <summary>The library this session loaded, as it was asked for.</summary>
    public string LibraryPath { get; }

    /// <summary>Loads NVML from <paramref name="libraryPath"/> (null: <see cref="NvmlOptions.DefaultLibraryPath"/>) and initialises it.</summary>
    /// <exception cref="NvmlUnavailableException">No usable NVIDIA driver: missing library, missing export, driver not loaded.</exception>
    /// <exception cref="NvmlException"><c>nvmlInit_v2</c> failed otherwise.</exception>
    public static NvmlLibrary Open(string? libraryPath = null)
    {
        var path = libraryPath ?? NvmlOptions.DefaultLibraryPath;
        NvmlBinding.Bind(path);
        var result = NativeMethods.Init();
        if (result is NvmlReturn.DriverNotLoaded or NvmlReturn.LibraryNotFound)
        {
            throw new NvmlUnavailableException("nvmlInit_v2", result,
                $"no NVIDIA driver on this machine: nvmlInit_v2 from '{path}' answered {NvmlException.Label(result)}");
        }

        NvmlCall.Check("nvmlInit_v2", result);
        return new NvmlLibrary(path);
    }

    public int DeviceCount
    {
        get
        {
            ThrowIfDisposed();
            NvmlCall.Check("nvmlDeviceGetCount_v2", NativeMethods.DeviceGetCount(out var count));
            return checked((int)count);
        }
    }

    /// <summary>The device at <paramref name="index"/> in NVML's order (PCI bus order, not CUDA's).</summary>
    public NvmlDevice GetDevice(int index)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        ThrowIfDisposed();
        NvmlCall.Check("nvmlDeviceGetHandleByIndex_v2", NativeMethods.DeviceGetHandleByIndex((uint)index, out var handle));
        return new NvmlDevice(this, index, handle);
    }

    /// <summary>One <see cref="NvmlDevice.Read"/> of every device.</summary>
    public IReadOnlyList<GpuSnapshot> ReadAll()
    {
        var count = DeviceCount;
        var snapshots = new GpuSnapshot[count];
        for (var i = 0; i < count; i++)
        {
            snapshots[i] = GetDevice(i).Read();
        }

        return snapshots;
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            // nvmlShutdown fails only when NVML is not initialised, which this session's Open guaranteed;
            // a Dispose must not throw, so its result is not checked.
            _ = NativeMethods.Shutdown();
        }
    }

    internal void ThrowIfDisposed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
}
