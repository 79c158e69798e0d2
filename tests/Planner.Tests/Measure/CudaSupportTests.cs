using GpuSplit.Nvml;
using GpuSplit.Planner.Measure;
using GpuSplit.PlannerMeasure.Runtime;

namespace GpuSplit.Planner.Tests.Measure;

public sealed class CudaSupportTests
{
    [Theory]
    [InlineData(7, 5)]
    [InlineData(8, 6)]
    [InlineData(12, 0)]
    public void Cards_from_7_5_run_the_bundled_runtime(int major, int minor) =>
        CudaSupport.Check("card", new ComputeCapability(major, minor), customLibrary: false);

    [Theory]
    [InlineData(6, 1)]
    [InlineData(7, 0)]
    [InlineData(5, 2)]
    public void Older_cards_are_refused_unless_a_library_is_given(int major, int minor)
    {
        var error = Assert.Throws<MeasureException>(() => CudaSupport.Check("Tesla", new ComputeCapability(major, minor), customLibrary: false));

        Assert.StartsWith($"Tesla has CUDA compute capability {major}.{minor};", error.Message);
        Assert.Contains($"CMAKE_CUDA_ARCHITECTURES={major}{minor}", error.Message);
        CudaSupport.Check("Tesla", new ComputeCapability(major, minor), customLibrary: true);
    }

    [Theory]
    [InlineData("cpu", false, 0)]
    [InlineData("cuda", true, 0)]
    [InlineData("cuda:2", true, 2)]
    public void Devices_parse(string text, bool cuda, int index)
    {
        Assert.True(MeasureDevice.TryParse(text, out var device));
        Assert.Equal(new MeasureDevice(cuda, index), device);
    }

    [Theory]
    [InlineData("gpu")]
    [InlineData("cuda:")]
    [InlineData("cuda:-1")]
    [InlineData("CPU")]
    public void Other_devices_do_not_parse(string text) => Assert.False(MeasureDevice.TryParse(text, out _));
}
