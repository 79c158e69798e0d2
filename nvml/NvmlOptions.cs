namespace GpuSplit.Nvml;

/// <summary>Where NVML lives; bound from configuration by the programs that read the GPU.</summary>
public sealed class NvmlOptions
{
    /// <summary>The NVML shared library to load: a bare file name (searched the OS's way) or a path; null means <see cref="DefaultLibraryPath"/>.</summary>
    public string? LibraryPath { get; set; }

    /// <summary><c>nvml.dll</c> on Windows (System32 with DCH drivers), <c>libnvidia-ml.so.1</c> elsewhere.</summary>
    public static string DefaultLibraryPath => OperatingSystem.IsWindows() ? "nvml.dll" : "libnvidia-ml.so.1";
}
