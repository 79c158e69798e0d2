using System.Diagnostics;

namespace GpuSplit.Nvml.Tests;

/// <summary>The fake as another process sees it: the state comes from FAKE_NVML_STATE.</summary>
public sealed class FakeNvmlTests
{
    // NVML through ctypes: an independent caller of the fake's C ABI, outside .NET.
    private const string Reader = """
        import ctypes, sys
        nvml = ctypes.CDLL(sys.argv[1])
        count, handle, memory = ctypes.c_uint(), ctypes.c_void_p(), (ctypes.c_ulonglong * 3)()
        assert nvml.nvmlInit_v2() == 0
        assert nvml.nvmlDeviceGetCount_v2(ctypes.byref(count)) == 0
        assert nvml.nvmlDeviceGetHandleByIndex_v2(1, ctypes.byref(handle)) == 0
        print(count.value, nvml.nvmlDeviceGetMemoryInfo(handle, memory), memory[0], memory[1], memory[2])
        """;

    [Fact]
    public async Task A_child_process_reads_the_state_named_in_its_environment()
    {
        var python = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(folder => Path.Combine(folder, "python3"))
            .FirstOrDefault(File.Exists);
        RequiredPart.Require(python is not null, "python3 (an independent caller of the fake NVML)");
        var state = new FakeNvmlState
        {
            Devices = [new FakeGpu(), new FakeGpu { TotalBytes = 8000, UsedBytes = 3000, FreeBytes = 4000 }],
        };
        using var fake = FakeNvml.ForChildProcess(state);

        var run = new ProcessStartInfo(python!) { RedirectStandardOutput = true, RedirectStandardError = true };
        run.ArgumentList.Add("-c");
        run.ArgumentList.Add(Reader);
        run.ArgumentList.Add(FakeNvml.LibraryPath);
        foreach (var (name, value) in fake.Environment)
        {
            run.Environment[name] = value;
        }

        using var process = Process.Start(run)!;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(1));
        var output = process.StandardOutput.ReadToEndAsync(timeout.Token);
        var errors = process.StandardError.ReadToEndAsync(timeout.Token);
        await process.WaitForExitAsync(timeout.Token);

        Assert.True(process.ExitCode == 0, await errors);
        Assert.Equal("2 0 8000 4000 3000", (await output).Trim());
    }
}
