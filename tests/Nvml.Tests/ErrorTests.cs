namespace GpuSplit.Nvml.Tests;

/// <summary>NVML's failures, each one a clear exception that names the call and the code.</summary>
public sealed class ErrorTests
{
    private static readonly FakeGpu Gpu = new() { UsedBytes = 1024UL * 1024 * 1024 };

    [Fact]
    public async Task A_lost_gpu_is_reported_as_such_for_that_device_only()
    {
        var state = new FakeNvmlState
        {
            Devices = [Gpu, Gpu with { Uuid = "GPU-lost" }],
            Failures = [new FakeNvmlFailure("nvmlDeviceGetMemoryInfo", NvmlReturn.GpuIsLost, Device: 1)],
        };
        await using var fake = await FakeNvml.StartAsync(state, TestContext.Current.CancellationToken);
        using var nvml = NvmlLibrary.Open(FakeNvml.LibraryPath);

        Assert.Equal(Gpu.UsedBytes, nvml.GetDevice(0).GetMemory().UsedBytes);
        var lost = Assert.Throws<NvmlException>(() => nvml.GetDevice(1).GetMemory());
        Assert.True(lost.IsGpuLost);
        Assert.Equal(NvmlReturn.GpuIsLost, lost.Code);
        Assert.Equal("nvmlDeviceGetMemoryInfo", lost.Function);
        Assert.Equal("nvmlDeviceGetMemoryInfo failed: NVML_ERROR_GPU_IS_LOST (15): GPU is lost", lost.Message);
        Assert.True(Assert.Throws<NvmlException>(() => nvml.ReadAll()).IsGpuLost);
    }

    [Fact]
    public async Task A_driver_that_is_not_loaded_makes_nvml_unavailable()
    {
        var state = new FakeNvmlState { Devices = [Gpu], Failures = [new FakeNvmlFailure("nvmlInit_v2", NvmlReturn.DriverNotLoaded)] };
        await using var fake = await FakeNvml.StartAsync(state, TestContext.Current.CancellationToken);

        var error = Assert.Throws<NvmlUnavailableException>(() => NvmlLibrary.Open(FakeNvml.LibraryPath));

        Assert.Equal(NvmlReturn.DriverNotLoaded, error.Code);
        Assert.Equal("nvmlInit_v2", error.Function);
        Assert.StartsWith("no NVIDIA driver on this machine: nvmlInit_v2 from ", error.Message, StringComparison.Ordinal);
        Assert.EndsWith("answered NVML_ERROR_DRIVER_NOT_LOADED (9)", error.Message, StringComparison.Ordinal);

        // The library stays bound: once the driver is back, the same process opens it.
        fake.Update(state with { Failures = [] });
        using var nvml = NvmlLibrary.Open(FakeNvml.LibraryPath);
        Assert.Equal(1, nvml.DeviceCount);
    }

    [Fact]
    public async Task Other_init_failures_are_nvml_errors_not_a_missing_driver()
    {
        var state = new FakeNvmlState { Devices = [Gpu], Failures = [new FakeNvmlFailure("nvmlInit_v2", NvmlReturn.NoPermission)] };
        await using var fake = await FakeNvml.StartAsync(state, TestContext.Current.CancellationToken);

        var error = Assert.Throws<NvmlException>(() => NvmlLibrary.Open(FakeNvml.LibraryPath));

        Assert.IsNotType<NvmlUnavailableException>(error);
        Assert.Equal(NvmlReturn.NoPermission, error.Code);
        Assert.Equal("nvmlInit_v2 failed: NVML_ERROR_NO_PERMISSION (4): Insufficient Permissions", error.Message);
    }

    [Fact]
    public void A_missing_library_is_a_clear_message()
    {
        var path = Path.Combine(Path.GetTempPath(), $"no-such-dir-{Guid.NewGuid():N}", "libnvidia-ml.so.1");

        var error = Assert.Throws<NvmlUnavailableException>(() => NvmlLibrary.Open(path));

        Assert.Equal($"no NVIDIA driver on this machine: could not load '{path}'", error.Message);
        Assert.Equal(NvmlReturn.LibraryNotFound, error.Code);
    }

    [Fact]
    public async Task One_process_binds_one_nvml_library()
    {
        await using var fake = await FakeNvml.StartAsync(new FakeNvmlState { Devices = [Gpu] }, TestContext.Current.CancellationToken);
        using (NvmlLibrary.Open(FakeNvml.LibraryPath))
        {
        }

        var folder = Directory.CreateTempSubdirectory("gpusplit-nvml-test-");
        try
        {
            // The same file under another name is the same library; a copy is another one.
            var link = Path.Combine(folder.FullName, "libnvidia-ml.so.1");
            File.CreateSymbolicLink(link, FakeNvml.LibraryPath);
            using (var viaLink = NvmlLibrary.Open(link))
            {
                Assert.Equal(1, viaLink.DeviceCount);
            }

            var copy = Path.Combine(folder.FullName, "libnvml-copy.so");
            File.Copy(FakeNvml.LibraryPath, copy);
            var error = Assert.Throws<InvalidOperationException>(() => NvmlLibrary.Open(copy));
            Assert.Contains("one process uses one NVML library", error.Message, StringComparison.Ordinal);
            Assert.Contains(copy, error.Message, StringComparison.Ordinal);
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Readings_the_card_does_not_support_are_null_in_a_snapshot_and_throw_when_asked_for()
    {
        var state = new FakeNvmlState
        {
            Devices = [Gpu with { TemperatureCelsius = 52 }],
            Failures =
            [
                new FakeNvmlFailure("nvmlDeviceGetPowerUsage", NvmlReturn.NotSupported),
                new FakeNvmlFailure("nvmlDeviceGetUtilizationRates", NvmlReturn.NotSupported),
            ],
        };
        await using var fake = await FakeNvml.StartAsync(state, TestContext.Current.CancellationToken);
        using var nvml = NvmlLibrary.Open(FakeNvml.LibraryPath);
        var device = nvml.GetDevice(0);

        var snapshot = device.Read();

        Assert.Null(snapshot.PowerMilliwatts);
        Assert.Null(snapshot.Utilization);
        Assert.Equal(52u, snapshot.TemperatureCelsius);
        Assert.Equal(NvmlReturn.NotSupported, Assert.Throws<NvmlException>(() => device.GetPowerMilliwatts()).Code);
        Assert.Equal(NvmlReturn.NotSupported, Assert.Throws<NvmlException>(() => device.GetUtilization()).Code);
    }

    [Fact]
    public async Task A_failing_process_list_is_not_taken_for_an_empty_one()
    {
        var state = FakeNvmlState.OneGtx1060(new FakeGpuProcess(1, 1024)) with
        {
            Failures = [new FakeNvmlFailure("nvmlDeviceGetComputeRunningProcesses_v3", NvmlReturn.NoPermission)],
        };
        await using var fake = await FakeNvml.StartAsync(state, TestContext.Current.CancellationToken);
        using var nvml = NvmlLibrary.Open(FakeNvml.LibraryPath);

        var error = Assert.Throws<NvmlException>(() => nvml.GetDevice(0).GetComputeProcesses());

        Assert.Equal(NvmlReturn.NoPermission, error.Code);
        Assert.Equal("nvmlDeviceGetComputeRunningProcesses_v3", error.Function);
    }

    [Fact]
    public async Task A_device_index_past_the_end_names_the_call()
    {
        await using var fake = await FakeNvml.StartAsync(new FakeNvmlState { Devices = [Gpu] }, TestContext.Current.CancellationToken);
        using var nvml = NvmlLibrary.Open(FakeNvml.LibraryPath);

        var error = Assert.Throws<NvmlException>(() => nvml.GetDevice(1));

        Assert.Equal(NvmlReturn.InvalidArgument, error.Code);
        Assert.Equal("nvmlDeviceGetHandleByIndex_v2", error.Function);
    }

    [Theory]
    [InlineData(NvmlReturn.GpuIsLost, "NVML_ERROR_GPU_IS_LOST")]
    [InlineData(NvmlReturn.InsufficientSize, "NVML_ERROR_INSUFFICIENT_SIZE")]
    [InlineData(NvmlReturn.LibRmVersionMismatch, "NVML_ERROR_LIB_RM_VERSION_MISMATCH")]
    [InlineData(NvmlReturn.VgpuEccNotSupported, "NVML_ERROR_VGPU_ECC_NOT_SUPPORTED")]
    [InlineData(NvmlReturn.Unknown, "NVML_ERROR_UNKNOWN")]
    [InlineData(NvmlReturn.Success, "NVML_SUCCESS")]
    [InlineData((NvmlReturn)77, "77")]
    public void Codes_carry_nvmls_own_names(NvmlReturn code, string name) =>
        Assert.Equal(name, NvmlException.CodeName(code));

    [Fact]
    public async Task A_code_this_binding_does_not_know_still_reads_clearly()
    {
        var state = new FakeNvmlState { Devices = [Gpu], Failures = [new FakeNvmlFailure("nvmlDeviceGetTemperature", (NvmlReturn)77)] };
        await using var fake = await FakeNvml.StartAsync(state, TestContext.Current.CancellationToken);
        using var nvml = NvmlLibrary.Open(FakeNvml.LibraryPath);

        var error = Assert.Throws<NvmlException>(() => nvml.GetDevice(0).GetTemperatureCelsius());

        Assert.Equal("nvmlDeviceGetTemperature failed: code 77: Unknown Error", error.Message);
    }
}
