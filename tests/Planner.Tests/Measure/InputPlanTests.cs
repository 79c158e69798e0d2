using GpuSplit.Planner.Catalog;
using GpuSplit.Planner.Measure;
using GpuSplit.PlannerMeasure.Sessions;
using GpuSplit.Planner.Onnx;

namespace GpuSplit.Planner.Tests.Measure;

public sealed class InputPlanTests
{
    [Fact]
    public void Dynamic_dimensions_come_from_the_catalog_and_the_batch_axis_from_its_batch()
    {
        var model = Model(Input("x", Dim("batch"), Dim(3), Dim(48), Dim("width")));

        var plan = InputPlan.Resolve(model, new InputSpec([6, 3, 48, 320], 6, "test"));

        Assert.Equal("x[6,3,48,320]", Assert.Single(plan).ToString());
    }

    [Fact]
    public void Every_input_of_a_text_model_gets_the_shape()
    {
        var model = Model(Input("input_ids", Dim("batch"), Dim("sequence")), Input("attention_mask", Dim("batch"), Dim("sequence")));

        var plan = InputPlan.Resolve(model, new InputSpec([1, 77], 1, "test"));

        Assert.Equal(["input_ids[1,77]", "attention_mask[1,77]"], plan.Select(p => p.ToString()));
    }

    [Fact]
    public void A_fixed_dimension_that_disagrees_with_the_catalog_is_a_mismatch()
    {
        var model = Model(Input("image", Dim(1), Dim(3), Dim(224), Dim(224)));

        var error = Assert.Throws<MeasureException>(() => InputPlan.Resolve(model, new InputSpec([1, 3, 256, 256], 1, "test")));

        Assert.Contains("axis 2 is fixed at 224, Immich feeds 256", error.Message);
    }

    [Fact]
    public void A_fixed_batch_of_one_cannot_take_a_batch_of_six()
    {
        var model = Model(Input("x", Dim(1), Dim(3), Dim(48), Dim(320)));

        var error = Assert.Throws<MeasureException>(() => InputPlan.Resolve(model, new InputSpec([6, 3, 48, 320], 6, "test")));

        Assert.Contains("axis 0 is fixed at 1, Immich feeds 6", error.Message);
    }

    [Fact]
    public void Without_a_catalog_shape_only_a_fully_fixed_model_can_be_fed()
    {
        Assert.Equal("x[1,3,640,640]", Assert.Single(InputPlan.Resolve(Model(Input("x", Dim(1), Dim(3), Dim(640), Dim(640))), null)).ToString());

        var error = Assert.Throws<MeasureException>(() => InputPlan.Resolve(Model(Input("x", Dim("n"), Dim(3))), null));
        Assert.Contains("dynamic dimensions and the catalog gives no input shape", error.Message);
    }

    private static OnnxDim Dim(long value) => new(value, null);

    private static OnnxDim Dim(string name) => new(null, name);

    private static OnnxValue Input(string name, params OnnxDim[] shape) => new(name, "float32", shape);

    private static OnnxModelInfo Model(params OnnxValue[] inputs) =>
        new("model.onnx", 1, 8, "", [new OnnxOpset(OnnxOpset.DefaultDomain, 17)], inputs, [], new WeightSummary(0, 0, 0, 0, []));
}
