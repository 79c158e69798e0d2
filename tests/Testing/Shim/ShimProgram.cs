using System.Diagnostics;
using System.Reflection;
using GpuSplit.Testing.MlStandIn;

namespace GpuSplit.Testing.Shim;

/// <summary>The built shim (shim.dll) as a program to run: a test project that uses it references shim/ so that it is built.</summary>
public static class ShimProgram
{
    public static string BuildDirectory { get; } = typeof(ShimProgram).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "ShimDirectory").Value!;

    /// <summary><c>dotnet shim.dll ARGS</c>, run from its build folder so that its appsettings.json applies.</summary>
    public static ProcessStartInfo StartInfo(IEnumerable<string> args)
    {
        var dll = Path.Combine(BuildDirectory, "shim.dll");
        if (!File.Exists(dll))
        {
            throw new InvalidOperationException($"{dll} is not built: reference shim/GpuSplit.Shim.csproj from the test project");
        }

        var info = new ProcessStartInfo(Path.Combine(MlStandInApp.DotnetRoot, "dotnet")) { WorkingDirectory = BuildDirectory };
        info.ArgumentList.Add(dll);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        return info;
    }
}
