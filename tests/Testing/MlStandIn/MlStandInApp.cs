using System.Diagnostics;
using System.Reflection;

namespace GpuSplit.Testing.MlStandIn;

/// <summary>Where the built stand-in (tests/MlStandIn) and the .NET runtime that runs it are on this machine.</summary>
public static class MlStandInApp
{
    public const string Dll = "ml-standin.dll";

    /// <summary>The stand-in's build output; this project builds it first (a ProjectReference without the assembly).</summary>
    public static string Directory { get; } = typeof(MlStandInApp).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "MlStandInDirectory").Value!;

    /// <summary>The dotnet root of the running runtime (…/shared/Microsoft.NETCore.App/x.y.z/ three levels up).</summary>
    public static string DotnetRoot { get; } =
        Path.GetFullPath(Path.Combine(Path.GetDirectoryName(typeof(object).Assembly.Location)!, "..", "..", ".."));

    /// <summary>
    /// The stand-in as a plain process (for a network-namespace host, wrap it in <c>ip netns exec</c>):
    /// listens on <paramref name="host"/>:<paramref name="port"/>; <paramref name="environment"/> takes the same
    /// variables as the container (STANDIN_ON_START, STANDIN_PREDICT_DELAY_MS, STANDIN_START_DELAY_MS).
    /// </summary>
    public static ProcessStartInfo ProcessStartInfo(string host, int port, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(Path.Combine(DotnetRoot, "dotnet"))
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.ArgumentList.Add(Path.Combine(Directory, Dll));
        info.Environment["IMMICH_HOST"] = host;
        info.Environment["IMMICH_PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        return info;
    }
}
