using System.Runtime.InteropServices;

namespace GpuSplit.Nvml.Native;

/// <summary>Turns an NVML return code into an exception that names the call.</summary>
internal static class NvmlCall
{
    public static void Check(string function, NvmlReturn result)
    {
        if (result != NvmlReturn.Success)
        {
            throw new NvmlException(function, result, Describe(result));
        }
    }

    /// <summary>The value, or null when the card does not support the reading; other failures throw.</summary>
    public static T? Optional<T>(string function, NvmlReturn result, T value)
        where T : struct
    {
        if (result == NvmlReturn.NotSupported)
        {
            return null;
        }

        Check(function, result);
        return value;
    }

    private static unsafe string? Describe(NvmlReturn result) =>
        Marshal.PtrToStringUTF8((nint)NativeMethods.ErrorString(result));
}
