using System.Globalization;
using System.Text;

namespace GpuSplit.Nvml;

/// <summary>An NVML call returned an error: which call, the code, and NVML's own name for it.</summary>
public class NvmlException : Exception
{
    public NvmlException(string function, NvmlReturn code, string? description = null)
        : this(function, code, FormatMessage(function, code, description), null)
    {
    }

    protected NvmlException(string function, NvmlReturn code, string message, Exception? inner)
        : base(message, inner)
    {
        Function = function;
        Code = code;
    }

    /// <summary>The NVML entry point that failed, e.g. <c>nvmlDeviceGetMemoryInfo</c>.</summary>
    public string Function { get; }

    public NvmlReturn Code { get; }

    /// <summary>The card fell off the bus or the driver lost it: only a reboot or a driver reset helps.</summary>
    public bool IsGpuLost => Code == NvmlReturn.GpuIsLost;

    /// <summary>NVML's constant name, <c>NVML_ERROR_GPU_IS_LOST</c>, or the bare number for a code this binding does not know.</summary>
    public static string CodeName(NvmlReturn code)
    {
        if (code == NvmlReturn.Success)
        {
            return "NVML_SUCCESS";
        }

        if (!Enum.IsDefined(code))
        {
            return ((int)code).ToString(CultureInfo.InvariantCulture);
        }

        var pascal = code.ToString();
        var name = new StringBuilder("NVML_ERROR_", 32 + pascal.Length);
        for (var i = 0; i < pascal.Length; i++)
        {
            if (i > 0 && char.IsUpper(pascal[i]))
            {
                name.Append('_');
            }

            name.Append(char.ToUpperInvariant(pascal[i]));
        }

        return name.ToString();
    }

    /// <summary><c>NVML_ERROR_GPU_IS_LOST (15)</c>, or <c>code 77</c> for a code this binding does not know.</summary>
    internal static string Label(NvmlReturn code) =>
        Enum.IsDefined(code)
            ? string.Create(CultureInfo.InvariantCulture, $"{CodeName(code)} ({(int)code})")
            : string.Create(CultureInfo.InvariantCulture, $"code {(int)code}");

    private static string FormatMessage(string function, NvmlReturn code, string? description) =>
        string.IsNullOrEmpty(description)
            ? $"{function} failed: {Label(code)}"
            : $"{function} failed: {Label(code)}: {description}";
}

/// <summary>
/// NVML cannot be used on this machine at all: the library is missing or lacks a function this binding
/// needs, or the driver is not loaded. Callers report "no NVIDIA GPU here" rather than a GPU fault.
/// </summary>
public sealed class NvmlUnavailableException : NvmlException
{
    public NvmlUnavailableException(string function, NvmlReturn code, string message)
        : base(function, code, message, null)
    {
    }
}
