namespace GpuSplit.Nvml.Tests;

/// <summary>The real binding reading the fake NVML library through P/Invoke.</summary>
public sealed class ReadingTests
{
    private const ulong GiB = 1024UL * 1024 * 1024;
    private const ulong MiB = 1024UL * 1024;

    [Fact]
    public async Task Reads_one_gtx_1060_completely()
    {
        var gpu = new FakeGpu
        {
            Uuid = "GPU-1a2b3c4d-1060",
            UsedBytes = 1500 * MiB,
            FreeBytes = 4600 * MiB,
            GpuUtilizationPercent = 37,
            MemoryUtilizationPercent = 12,
            TemperatureCelsius = 61,
            PowerMilliwatts = 74_250,
        };
        await using var fake = await FakeNvml.StartAsync(new FakeNvmlState { Devices = [gpu] }, TestContext.Current.CancellationToken);
        using var nvml = NvmlLibrary.Open(FakeNvml.LibraryPath);

        Assert.Equal(1, nvml.DeviceCount);
        var snapshot = nvml.GetDevice(0).Read();

        Assert.Equal(0, snapshot.Index);
        Assert.Equal("NVIDIA GeForce GTX 1060 6GB", snapshot.Name);
        Assert.Equal("GPU-1a2b3c4d-1060", snapshot.Uuid);
        Assert.Equal(new GpuMemory(6144 * MiB, 4600 * MiB, 1500 * MiB), snapshot.Memory);
        Assert.Equal(new ComputeCapability(6, 1), snapshot.ComputeCapability);
        Assert.Equal("6.1", snapshot.ComputeCapability.ToString());
        Assert.Equal(new GpuUtilization(37, 12), snapshot.Utilization);
        Assert.Equal(61u, snapshot.TemperatureCelsius);
        Assert.Equal(74_250u, snapshot.PowerMilliwatts);
        Assert.Empty(snapshot.Processes);
    }

    [Fact]
    public async Task Reads_several_devices_each_with_its_own_figures_and_processes()
    {
        var state = new FakeNvmlState
        {
            Devices =
            [
                new FakeGpu { Uuid = "GPU-a", UsedBytes = 5 * GiB },
                new FakeGpu { Name = "NVIDIA GeForce RTX 3060", Uuid = "GPU-b", TotalBytes = 12 * GiB, UsedBytes = 2 * GiB, ComputeMajor = 8, ComputeMinor = 6 },
            ],
            Processes = [new FakeGpuProcess(1111, 5 * GiB, Device: 0), new FakeGpuProcess(2222, 2 * GiB, Device: 1)],
        };
        await using var fake = await FakeNvml.StartAsync(state, TestContext.Current.CancellationToken);
        using var nvml = NvmlLibrary.Open(FakeNvml.LibraryPath);

        var snapshots = nvml.ReadAll();

        Assert.Equal(2, snapshots.Count);
        Assert.Equal(["GPU-a", "GPU-b"], snapshots.Select(s => s.Uuid));
        Assert.Equal(new GpuMemory(6144 * MiB, 6144 * MiB - 5 * GiB, 5 * GiB), snapshots[0].Memory);
        Assert.Equal(new GpuMemory(12 * GiB, 10 * GiB, 2 * GiB), snapshots[1].Memory);
        Assert.Equal("NVIDIA GeForce RTX 3060", snapshots[1].Name);
        Assert.Equal(new ComputeCapability(8, 6), snapshots[1].ComputeCapability);
        Assert.Equal([new GpuProcess(1111, 5 * GiB)], snapshots[0].Processes);
        Assert.Equal([new GpuProcess(2222, 2 * GiB)], snapshots[1].Processes);
    }

    [Fact]
    public async Task Lists_several_processes_with_their_memory()
    {
        var state = FakeNvmlState.OneGtx1060(
            new FakeGpuProcess(4242, 4 * GiB),
            new FakeGpuProcess(777, 1 * GiB),
            new FakeGpuProcess(31337, 300 * MiB));
        await using var fake = await FakeNvml.StartAsync(state, TestContext.Current.CancellationToken);
        using var nvml = NvmlLibrary.Open(FakeNvml.LibraryPath);
        var device = nvml.GetDevice(0);

        Assert.Equal(
            [new GpuProcess(4242, 4 * GiB), new GpuProcess(777, 1 * GiB), new GpuProcess(31337, 300 * MiB)],
            device.GetComputeProcesses());
        Assert.Equal(5 * GiB + 300 * MiB, device.GetMemory().UsedBytes);
    }

    [Fact]
    public async Task A_game_is_a_graphics_process_and_a_process_with_both_contexts_counts_once()
    {
        var state = FakeNvmlState.OneGtx1060(
            new FakeGpuProcess(4242, 2 * GiB),
            new FakeGpuProcess(777, 1 * GiB) { Graphics = true },
            new FakeGpuProcess(4242, 2 * GiB) { Graphics = true, AppearsLate = true });
        await using var fake = await FakeNvml.StartAsync(state, TestContext.Current.CancellationToken);
        using var nvml = NvmlLibrary.Open(FakeNvml.LibraryPath);
        var device = nvml.GetDevice(0);

        Assert.Equal([new GpuProcess(4242, 2 * GiB)], device.GetComputeProcesses());
        Assert.Equal([new GpuProcess(777, 1 * GiB), new GpuProcess(4242, 2 * GiB)], device.GetGraphicsProcesses());
        Assert.Equal([new GpuProcess(4242, 2 * GiB), new GpuProcess(777, 1 * GiB)], nvml.ReadAll()[0].Processes);
    }

    [Fact]
    public async Task Refetches_the_process_list_when_it_grew_after_the_size_query()
    {
        // The size query sees one process; two more start before the fetch (NVML answers INSUFFICIENT_SIZE).
        var state = FakeNvmlState.OneGtx1060(
            new FakeGpuProcess(100, 1 * GiB),
            new FakeGpuProcess(200, 2 * GiB) { AppearsLate = true },
            new FakeGpuProcess(300, 512 * MiB) { AppearsLate = true });
        await using var fake = await FakeNvml.StartAsync(state, TestContext.Current.CancellationToken);
        using var nvml = NvmlLibrary.Open(FakeNvml.LibraryPath);

        var processes = nvml.GetDevice(0).GetComputeProcesses();

        Assert.Equal([new GpuProcess(100, 1 * GiB), new GpuProcess(200, 2 * GiB), new GpuProcess(300, 512 * MiB)], processes);
    }

    [Fact]
    public async Task Process_memory_that_the_driver_cannot_tell_is_null()
    {
        var state = FakeNvmlState.OneGtx1060(new FakeGpuProcess(10, UsedBytes: null), new FakeGpuProcess(11, 3 * GiB));
        await using var fake = await FakeNvml.StartAsync(state, TestContext.Current.CancellationToken);
        using var nvml = NvmlLibrary.Open(FakeNvml.LibraryPath);

        Assert.Equal([new GpuProcess(10, null), new GpuProcess(11, 3 * GiB)], nvml.GetDevice(0).GetComputeProcesses());
    }

    [Fact]
    public async Task Sees_the_state_change_while_open()
    {
        var worker = new FakeGpuProcess(500, 1 * GiB);
        await using var fake = await FakeNvml.StartAsync(FakeNvmlState.OneGtx1060(worker), TestContext.Current.CancellationToken);
        using var nvml = NvmlLibrary.Open(FakeNvml.LibraryPath);
        var device = nvml.GetDevice(0);
        Assert.Equal(1 * GiB, device.GetMemory().UsedBytes);

        fake.Update(FakeNvmlState.OneGtx1060(worker with { UsedBytes = 5 * GiB }, new FakeGpuProcess(501, 512 * MiB)));

        Assert.Equal(5 * GiB + 512 * MiB, device.GetMemory().UsedBytes);
        Assert.Equal([new GpuProcess(500, 5 * GiB), new GpuProcess(501, 512 * MiB)], device.GetComputeProcesses());
    }

    [Fact]
    public async Task Processes_of_an_included_file_are_read_at_every_call_and_summed_into_the_device()
    {
        // What the ML stand-in does: it writes its own process line as its models load, the test owns the device.
        var folder = Directory.CreateTempSubdirectory("fake-nvml-include-");
        try
        {
            var worker = Path.Combine(folder.FullName, "worker.state");
            var state = new FakeNvmlState
            {
                Devices = [new FakeGpu { UsedIsSumOfProcesses = true }],
                Processes = [new FakeGpuProcess(700, 1 * GiB)],
                Includes = [worker],
            };
            await using var fake = await FakeNvml.StartAsync(state, TestContext.Current.CancellationToken);
            using var nvml = NvmlLibrary.Open(FakeNvml.LibraryPath);
            var device = nvml.GetDevice(0);
            Assert.Equal([new GpuProcess(700, 1 * GiB)], device.GetComputeProcesses());
            Assert.Equal(new GpuMemory(6 * GiB, 5 * GiB, 1 * GiB), device.GetMemory());

            File.WriteAllText(worker, "process device=0 pid=4242 used=2147483648\n");

            Assert.Equal([new GpuProcess(700, 1 * GiB), new GpuProcess(4242, 2 * GiB)], device.GetComputeProcesses());
            Assert.Equal(new GpuMemory(6 * GiB, 3 * GiB, 3 * GiB), device.GetMemory());

            File.WriteAllText(worker, "device uuid=GPU-x total=1 used=1 name=not allowed here\n");
            Assert.Throws<NvmlException>(() => device.GetMemory());
        }
        finally
        {
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Sessions_are_reference_counted_like_nvml()
    {
        await using var fake = await FakeNvml.StartAsync(FakeNvmlState.OneGtx1060(), TestContext.Current.CancellationToken);
        using var first = NvmlLibrary.Open(FakeNvml.LibraryPath);
        var second = NvmlLibrary.Open(FakeNvml.LibraryPath);
        var fromSecond = second.GetDevice(0);

        second.Dispose();
        second.Dispose();

        Assert.Equal(1, first.DeviceCount);
        Assert.Throws<ObjectDisposedException>(() => fromSecond.GetMemory());
        Assert.Throws<ObjectDisposedException>(() => second.DeviceCount);
    }
}
