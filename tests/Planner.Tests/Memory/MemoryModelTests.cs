using GpuSplit.Planner.Catalog;
using GpuSplit.Planner.Memory;

namespace GpuSplit.Planner.Tests.Memory;

public sealed class MemoryModelTests
{
    private static readonly RuntimeCosts Costs = new(CudaContextBytes: 300, ReserveBytes: 1000, ConvWorkspaceBytes: 20);

    private static ComponentLoad Load(ModelTask task, ComponentType type, long weights, long perRequest, long ratchet = 0) =>
        new("m", task, type, weights, perRequest, ratchet, FigureOrigin.Estimate);

    [Fact]
    public void Every_term_is_named_and_adds_up()
    {
        var estimate = MemoryModel.Estimate(
            [Load(ModelTask.Clip, ComponentType.Visual, 100, 10), Load(ModelTask.Ocr, ComponentType.Detection, 5, 7, ratchet: 50)],
            new JobConcurrency(SmartSearch: 3, FaceDetection: 2, Ocr: 1), workers: 1, Costs);

        Assert.Equal(1000, estimate.ReserveBytes);
        Assert.Equal(300, estimate.ContextBytes);
        Assert.Equal(105, estimate.WeightsBytes);
        Assert.Equal((10 * 3) + (7 * 1), estimate.ActivationBytes);
        Assert.Equal(50, estimate.RatchetBytes);
        Assert.Equal(1000 + 300 + 105 + 37 + 50, estimate.PeakBytes);
    }

    [Theory]
    [InlineData(ModelTask.Clip, ComponentType.Visual, 4)]
    [InlineData(ModelTask.Clip, ComponentType.Textual, 1)]
    [InlineData(ModelTask.FacialRecognition, ComponentType.Detection, 5)]
    [InlineData(ModelTask.FacialRecognition, ComponentType.Recognition, 5)]
    [InlineData(ModelTask.Ocr, ComponentType.Detection, 6)]
    [InlineData(ModelTask.Ocr, ComponentType.Recognition, 6)]
    public void Activations_are_multiplied_by_the_concurrency_of_the_job_that_uses_the_component(ModelTask task, ComponentType type, int expected)
    {
        var estimate = MemoryModel.Estimate([Load(task, type, 0, 1)], new JobConcurrency(4, 5, 6), workers: 1, Costs);
        Assert.Equal(expected, estimate.Components.Single().Concurrency);
        Assert.Equal(expected, estimate.ActivationBytes);
    }

    [Fact]
    public void Workers_multiply_context_and_models_but_not_the_per_gpu_reserve()
    {
        ComponentLoad[] loads = [Load(ModelTask.Clip, ComponentType.Visual, 100, 10, ratchet: 4)];
        var one = MemoryModel.Estimate(loads, JobConcurrency.Seed, workers: 1, Costs);
        var two = MemoryModel.Estimate(loads, JobConcurrency.Seed, workers: 2, Costs);

        Assert.Equal(2 * one.ContextBytes, two.ContextBytes);
        Assert.Equal(2 * one.WeightsBytes, two.WeightsBytes);
        Assert.Equal(2 * one.ActivationBytes, two.ActivationBytes);
        Assert.Equal(2 * one.RatchetBytes, two.RatchetBytes);
        Assert.Equal(one.ReserveBytes, two.ReserveBytes);
        Assert.Equal(one.PeakBytes + (one.PeakBytes - one.ReserveBytes), two.PeakBytes);
    }

    [Fact]
    public void The_ratchet_keeps_a_buffer_for_every_smaller_input_size()
    {
        var input = new InputSpec([1, 3, 64, 128], 1, "test") { Varying = new VaryingDimension(3, 64, 32) };
        var component = new CatalogComponent(ComponentType.Detection, new Figure(1, "test"), null, input, new Figure(1280, "derived", "test"));

        // Sizes 64 and 96 were seen before 128: 1280 * 64/128 + 1280 * 96/128.
        Assert.Equal(640 + 960, ComponentLoads.Ratchet(component, 1280));
    }

    [Fact]
    public void A_fixed_shape_has_no_ratchet()
    {
        var component = new CatalogComponent(ComponentType.Visual, new Figure(1, "test"), null, new InputSpec([1, 3, 224, 224], 1, "test"), null);
        Assert.Equal(0, ComponentLoads.Ratchet(component, 1_000_000));
    }

    [Fact]
    public void Measured_figures_for_the_named_gpu_replace_the_estimate()
    {
        var component = new CatalogComponent(ComponentType.Detection, new Figure(5_000, "test"), null, null, new Figure(100, "derived", "test"))
        {
            Measured = new Dictionary<string, MeasuredFootprint> { ["GPU X"] = new(6_000, 9_000, "in-process") },
        };
        var model = new CatalogModel("face", ModelTask.FacialRecognition, false, null, [component]);

        var measured = ComponentLoads.For(model, component, "GPU X", Costs);
        var estimated = ComponentLoads.For(model, component, "GPU Y", Costs);

        Assert.Equal((6_000L, 3_000L, FigureOrigin.Measured), (measured.WeightsBytes, measured.PerRequestBytes, measured.Origin));
        // The estimate adds the cuDNN workspace floor (20 here) to a convolutional component's activations.
        Assert.Equal((5_000L, 120L, FigureOrigin.Estimate), (estimated.WeightsBytes, estimated.PerRequestBytes, estimated.Origin));
    }

    [Fact]
    public void Text_encoders_get_no_convolution_workspace()
    {
        var textual = new CatalogComponent(ComponentType.Textual, new Figure(1, "test"), null, null, new Figure(100, "derived", "test"));
        var model = new CatalogModel("clip", ModelTask.Clip, false, null, [textual]);
        Assert.Equal(100, ComponentLoads.For(model, textual, null, Costs).PerRequestBytes);
    }

    [Fact]
    public void Concurrency_parses_and_keeps_defaults_for_jobs_left_out()
    {
        Assert.True(JobConcurrency.TryParse("smart-search=5,ocr=2", JobConcurrency.Seed, out var parsed, out _));
        Assert.Equal(new JobConcurrency(5, 3, 2), parsed);
        Assert.False(JobConcurrency.TryParse("thumbnails=2", JobConcurrency.Seed, out _, out var unknown));
        Assert.Contains("unknown job 'thumbnails'", unknown, StringComparison.Ordinal);
        Assert.False(JobConcurrency.TryParse("ocr=0", JobConcurrency.Seed, out _, out var zero));
        Assert.Contains("ocr=0", zero, StringComparison.Ordinal);
    }
}
