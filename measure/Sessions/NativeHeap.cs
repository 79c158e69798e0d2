using System.Runtime.InteropServices;
using GpuSplit.Planner.Measure;
using GpuSplit.PlannerMeasure.Runtime;

namespace GpuSplit.PlannerMeasure.Sessions;

/// <summary>
/// Gives freed native memory back to the operating system between models. glibc keeps freed blocks in its
/// arenas; without this, what the previous model freed would still count as this process's memory and blur
/// the next model's share.
/// </summary>
internal static partial class NativeHeap
{
    public static void Trim()
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        try
        {
            _ = MallocTrim(0);
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            // Not glibc (musl has no malloc_trim): its allocator returns large blocks on free anyway.
        }
    }

    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);
}
