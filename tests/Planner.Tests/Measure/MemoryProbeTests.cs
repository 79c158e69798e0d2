using System.Text;
using GpuSplit.Nvml;
using GpuSplit.Planner.Measure;
using GpuSplit.PlannerMeasure.Probes;
using GpuSplit.Testing;

namespace GpuSplit.Planner.Tests.Measure;

/// <summary>Tests that read this process's own memory: they run alone, so no other test allocates meanwhile.</summary>
[CollectionDefinition(nameof(OwnMemory), DisableParallelization = true)]
public sealed class OwnMemory;

[Collection(nameof(OwnMemory))]
public sealed class MemoryProbeTests
{
    private const long MiB = 1024 * 1024;

    [Fact]
    public void The_rss_anon_line_is_read_in_kib()
    {
        var text = Encoding.ASCII.GetBytes("Name:\tplanner\nVmRSS:\t  118144 kB\nRssAnon:\t   76896 kB\nRssFile:\t   41248 kB\n");

        Assert.Equal(76896, PrivateMemoryProbe.ParseKiB(text, "RssAnon:"u8));
        Assert.Equal(41248, PrivateMemoryProbe.ParseKiB(text, "RssFile:"u8));
        Assert.Throws<InvalidOperationException>(() => PrivateMemoryProbe.ParseKiB(text, "RssShmem:"u8));
    }

    [Fact]
    public void Private_memory_grows_by_the_pages_this_process_touches()
    {
        RequiredPart.Require(OperatingSystem.IsLinux(), "Linux /proc/self/status");
        using var probe = new PrivateMemoryProbe();
        var before = probe.Read().ProcessBytes;
        var block = GC.AllocateUninitializedArray<byte>((int)(128 * MiB));
        block.AsSpan().Fill(1);

        var after = probe.Read().ProcessBytes;
        GC.KeepAlive(block);

        // 128 MiB of new pages, give or take what the runtime did meanwhile.
        Assert.InRange(after - before, 120 * MiB, 136 * MiB);
    }

    [Fact]
    public async Task Nvml_probe_reads_this_process_and_the_device()
    {
        var pid = (uint)Environment.ProcessId;
        var state = FakeNvmlState.OneGtx1060(new FakeGpuProcess(4242, 2000 * (ulong)MiB), new FakeGpuProcess(pid, 300 * (ulong)MiB));
        await using var fake = await FakeNvml.StartAsync(state, TestContext.Current.CancellationToken);
        using var nvml = NvmlLibrary.Open(FakeNvml.LibraryPath);

        var probe = new NvmlMemoryProbe(nvml.GetDevice(0), Environment.ProcessId);
        var reading = probe.Read();

        Assert.Equal(new MemoryReading(300 * MiB, 2300 * MiB), reading);
        Assert.StartsWith("GPU memory: this process's used memory", probe.Method);
    }

    [Fact]
    public async Task Nvml_probe_falls_back_to_the_devices_growth_when_this_process_is_not_listed()
    {
        // Inside a container NVML lists host pids: this process is not found under its own.
        var state = FakeNvmlState.OneGtx1060(new FakeGpuProcess(4242, 2000 * (ulong)MiB));
        await using var fake = await FakeNvml.StartAsync(state, TestContext.Current.CancellationToken);
        using var nvml = NvmlLibrary.Open(FakeNvml.LibraryPath);
        var probe = new NvmlMemoryProbe(nvml.GetDevice(0), Environment.ProcessId);
        Assert.Equal(0, probe.Read().ProcessBytes);

        fake.Update(FakeNvmlState.OneGtx1060(new FakeGpuProcess(4242, 2000 * (ulong)MiB), new FakeGpuProcess(99999, 450 * (ulong)MiB)));
        var reading = probe.Read();

        Assert.Equal(new MemoryReading(450 * MiB, 2450 * MiB), reading);
        Assert.Contains("NVML did not list this process's own memory", probe.Method);
    }

    [Fact]
    public async Task A_lost_gpu_is_a_measurement_failure_not_a_crash()
    {
        var state = FakeNvmlState.OneGtx1060() with { Failures = [new FakeNvmlFailure("nvmlDeviceGetMemoryInfo", NvmlReturn.GpuIsLost)] };
        await using var fake = await FakeNvml.StartAsync(FakeNvmlState.OneGtx1060(), TestContext.Current.CancellationToken);
        using var nvml = NvmlLibrary.Open(FakeNvml.LibraryPath);
        var probe = new NvmlMemoryProbe(nvml.GetDevice(0), Environment.ProcessId);

        fake.Update(state);
        var error = Assert.Throws<MeasureException>(() => probe.Read());

        Assert.StartsWith("reading GPU memory failed: nvmlDeviceGetMemoryInfo failed: NVML_ERROR_GPU_IS_LOST (15)", error.Message);
    }
}
