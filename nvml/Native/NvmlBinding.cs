using System.Reflection;
using System.Runtime.InteropServices;

namespace GpuSplit.Nvml.Native;

/// <summary>
/// Loads the NVML library once per process and points this assembly's P/Invokes at it. The runtime binds
/// each P/Invoke to a native function once for the life of the process, so one process uses one NVML
/// library: asking for a second, different path is an error, and the library is never unloaded.
/// </summary>
internal static class NvmlBinding
{
    private static readonly Lock Gate = new();
    private static nint s_handle;
    private static string? s_boundPath;

    public static void Bind(string path)
    {
        lock (Gate)
        {
            if (s_boundPath == path)
            {
                return;
            }

            // Load first even when a library is bound: a missing library must read as missing. The OS hands
            // back the same handle for the same file under another name, and that one is fine.
            var handle = Load(path);
            if (s_handle != 0)
            {
                NativeLibrary.Free(handle);
                if (handle != s_handle)
                {
                    throw new InvalidOperationException(
                        $"NVML is already bound to '{s_boundPath}' in this process and cannot switch to '{path}': one process uses one NVML library");
                }

                return;
            }

            var missing = NativeMethods.RequiredExports.FirstOrDefault(name => !NativeLibrary.TryGetExport(handle, name, out _));
            if (missing is not null)
            {
                NativeLibrary.Free(handle);
                throw new NvmlUnavailableException(missing, NvmlReturn.FunctionNotFound,
                    $"the NVML library '{path}' lacks {missing}: the NVIDIA driver is too old (535 or later is needed)");
            }

            s_handle = handle;
            s_boundPath = path;
            NativeLibrary.SetDllImportResolver(typeof(NvmlBinding).Assembly, Resolve);
        }
    }

    private static nint Load(string path)
    {
        if (NativeLibrary.TryLoad(path, out var handle))
        {
            return handle;
        }

        // Older Windows drivers (before DCH) install NVML beside nvidia-smi instead of System32.
        if (OperatingSystem.IsWindows() && path == NvmlOptions.DefaultLibraryPath)
        {
            var programFiles = Environment.GetEnvironmentVariable("ProgramW6432");
            if (programFiles is not null
                && NativeLibrary.TryLoad(Path.Combine(programFiles, "NVIDIA Corporation", "NVSMI", "nvml.dll"), out handle))
            {
                return handle;
            }
        }

        throw new NvmlUnavailableException("nvmlInit_v2", NvmlReturn.LibraryNotFound,
            $"no NVIDIA driver on this machine: could not load '{path}'");
    }

    private static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath) =>
        libraryName == NativeMethods.LibraryName ? s_handle : 0;
}
