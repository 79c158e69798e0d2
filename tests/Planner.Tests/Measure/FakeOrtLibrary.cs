using System.Diagnostics;
using GpuSplit.Testing;

namespace GpuSplit.Planner.Tests.Measure;

/// <summary>
/// A stand-in for an older libonnxruntime, built by gcc in the test run: it exports OrtGetApiBase with ONNX
/// Runtime's ABI, says it is version 1.16.3, and offers C API versions up to 16 only, as that release does.
/// </summary>
internal static class FakeOrtLibrary
{
    private const string Source = """
        #include <stddef.h>
        #include <stdint.h>
        typedef struct { const void* (*GetApi)(uint32_t); const char* (*GetVersionString)(void); } OrtApiBase;
        static const int api_table = 0;
        static const void* get_api(uint32_t version) { return version <= 16 ? &api_table : NULL; }
        static const char* get_version(void) { return "1.16.3"; }
        static const OrtApiBase api_base = { get_api, get_version };
        __attribute__((visibility("default"))) const OrtApiBase* OrtGetApiBase(void) { return &api_base; }
        """;

    public static string Build(string folder)
    {
        var gcc = new[] { "/usr/bin/gcc", "/usr/local/bin/gcc" }.FirstOrDefault(File.Exists);
        RequiredPart.Require(gcc is not null, "gcc (builds a fake old libonnxruntime)");
        var source = Path.Combine(folder, "fake_ort.c");
        var library = Path.Combine(folder, "libonnxruntime.so.1.16.3");
        File.WriteAllText(source, Source);
        var start = new ProcessStartInfo(gcc!) { RedirectStandardError = true };
        foreach (var argument in new[] { "-shared", "-fPIC", "-fvisibility=hidden", "-Wall", "-Werror", "-o", library, source })
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start)!;
        var errors = process.StandardError.ReadToEnd();
        Assert.True(process.WaitForExit(TimeSpan.FromMinutes(1)), "gcc did not finish within a minute");
        Assert.True(process.ExitCode == 0, $"gcc failed: {errors}");
        return library;
    }
}
