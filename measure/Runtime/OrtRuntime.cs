using System.Runtime.InteropServices;
using GpuSplit.Planner.Measure;
using GpuSplit.PlannerMeasure.Probes;
using Microsoft.ML.OnnxRuntime;

namespace GpuSplit.PlannerMeasure.Runtime;

/// <summary>
/// The ONNX Runtime native library the measurement runs on: the one bundled with planner-measure, or the one named
/// by <c>--ort-library</c> (a build for a card the bundled one has no kernels for, such as Pascal's sm_61).
/// </summary>
public static class OrtRuntime
{
    /// <summary>
    /// The C API version the managed bindings (Microsoft.ML.OnnxRuntime 1.31) request when they start; a native
    /// library that does not offer it makes their type initializer throw and leaves ONNX Runtime unusable in
    /// the process, so it is checked here first.
    /// </summary>
    public const uint RequiredApiVersion = 31;

    private static int redirected;

    /// <summary>
    /// Makes every ONNX Runtime call in this process go to the library at <paramref name="path"/>. Call it before
    /// anything touches ONNX Runtime, once per process.
    /// </summary>
    /// <returns>The library's version string.</returns>
    /// <exception cref="MeasureException">The file is missing, not a loadable ONNX Runtime, or too old.</exception>
    public static string UseLibrary(string path)
    {
        var full = Path.GetFullPath(path);
        if (!File.Exists(full))
        {
            throw new MeasureException($"--ort-library: '{path}' does not exist");
        }

        if (!NativeLibrary.TryLoad(full, out var handle))
        {
            throw new MeasureException($"--ort-library: '{path}' is not a shared library this system can load");
        }

        var version = Probe(handle, path);
        if (Interlocked.Exchange(ref redirected, 1) != 0)
        {
            throw new InvalidOperationException("the ONNX Runtime library can be chosen once per process");
        }

        // The bindings ship their own resolver for the bundled library; it must stand aside for this one.
        OrtEnv.DisableDllImportResolver = true;
        NativeLibrary.SetDllImportResolver(typeof(OrtEnv).Assembly, (name, _, _) => name == "onnxruntime" ? handle : IntPtr.Zero);
        return version;
    }

    /// <summary>The version of the library in use, starting ONNX Runtime if nothing has yet.</summary>
    /// <exception cref="MeasureException">The native library cannot serve these bindings.</exception>
    public static string Version()
    {
        try
        {
            return OrtEnv.Instance().GetVersionString();
        }
        catch (Exception e) when (e is TypeInitializationException or DllNotFoundException or EntryPointNotFoundException)
        {
            throw new MeasureException($"ONNX Runtime cannot start: {(e.InnerException ?? e).Message}", e);
        }
    }

    private static unsafe string Probe(IntPtr handle, string path)
    {
        if (!NativeLibrary.TryGetExport(handle, "OrtGetApiBase", out var export))
        {
            throw new MeasureException($"--ort-library: '{path}' is not an ONNX Runtime library (it exports no OrtGetApiBase)");
        }

        // OrtApiBase (onnxruntime_c_api.h): { const OrtApi* (*GetApi)(uint32_t); const char* (*GetVersionString)(void); }
        var apiBase = ((delegate* unmanaged<IntPtr*>)export)();
        var getApi = (delegate* unmanaged<uint, IntPtr>)apiBase[0];
        var getVersion = (delegate* unmanaged<IntPtr>)apiBase[1];
        var version = Marshal.PtrToStringUTF8(getVersion()) ?? "unknown";
        if (getApi(RequiredApiVersion) == IntPtr.Zero)
        {
            throw new MeasureException(
                $"--ort-library: '{path}' is ONNX Runtime {version}, which does not offer C API version {RequiredApiVersion}; the planner's bindings need ONNX Runtime 1.31 or later (build 1.31+ from source with the CUDA architectures your card needs, e.g. CMAKE_CUDA_ARCHITECTURES=61 for a GTX 1060)");
        }

        return version;
    }
}
