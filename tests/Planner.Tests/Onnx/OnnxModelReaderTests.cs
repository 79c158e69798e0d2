using Google.Protobuf;
using GpuSplit.Planner.Onnx;
using GpuSplit.Protos.Onnx;
using static GpuSplit.Planner.Tests.Onnx.TestModels;

namespace GpuSplit.Planner.Tests.Onnx;

public sealed class OnnxModelReaderTests : IDisposable
{
    private const int N = 4096; // 4096 x 4096 float32 = 64 MiB
    private const long WeightBytes = (long)N * N * 4;

    private readonly TempFolder temp = new();

    public void Dispose() => temp.Dispose();

    [Fact]
    public void Inline_weights_are_counted_to_the_byte_with_inputs_outputs_and_opset()
    {
        var path = Write(MatMul(N), temp.File("inline", "model.onnx"));

        var info = OnnxModelReader.Read(path);

        Assert.Equal(WeightBytes, info.Weights.TotalBytes);
        Assert.Equal(WeightBytes, info.Weights.InlineBytes);
        Assert.Equal(1, info.Weights.TensorCount);
        Assert.Equal(WeightBytes, OnnxWeights.Count(path));
        Assert.Equal(Opset, info.Opset);
        Assert.Equal(8, info.IrVersion);
        Assert.Equal("gpusplit-tests 1", info.Producer);
        var input = Assert.Single(info.Inputs);
        Assert.Equal("X: float32[batch, 4096]", input.ToString());
        Assert.False(input.Shape![0].IsFixed);
        Assert.Equal("Y: float32[batch, 4096]", Assert.Single(info.Outputs).ToString());
        Assert.Equal(new FileInfo(path).Length, info.FileBytes);
    }

    [Fact]
    public void External_data_is_counted_from_its_own_file_and_named()
    {
        var path = WriteExternalMatMul(temp.File("external"), N);

        var info = OnnxModelReader.Read(path);

        Assert.True(new FileInfo(path).Length < 1024, "the model file itself holds no weights");
        Assert.Equal(WeightBytes, info.Weights.ExternalBytes);
        Assert.Equal(0, info.Weights.InlineBytes);
        Assert.Equal(WeightBytes, info.Weights.TotalBytes);
        Assert.Equal(["model.onnx.data"], info.Weights.ExternalFiles);
    }

    [Fact]
    public void A_missing_or_short_external_data_file_is_named_in_one_line()
    {
        var path = WriteExternalMatMul(temp.File("external"), 64);
        var data = temp.File("external", "model.onnx.data");
        File.WriteAllBytes(data, new byte[5000]);

        var shortFile = Assert.Throws<OnnxFormatException>(() => OnnxModelReader.Read(path));
        Assert.Contains("'model.onnx.data' holds 5000 bytes", shortFile.Message);

        File.Delete(data);
        var missing = Assert.Throws<OnnxFormatException>(() => OnnxModelReader.Read(path));
        Assert.Contains("'model.onnx.data' of tensor 'W' is missing", missing.Message);
        Assert.DoesNotContain('\n', missing.Message);
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(0.999)]
    [InlineData(0.001)]
    public void A_truncated_file_is_reported_as_truncated(double keep)
    {
        var path = Write(MatMul(256), temp.File("model.onnx"));
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..(int)(bytes.Length * keep)]);

        var error = Assert.Throws<OnnxFormatException>(() => OnnxModelReader.Read(path));

        Assert.StartsWith(path, error.Message);
        Assert.Contains("truncated", error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void A_file_cut_at_a_field_boundary_still_fails()
    {
        // Without its operator sets (field 8, written last) the model parses field by field.
        var model = MatMul(64);
        var path = Write(model, temp.File("model.onnx"));
        var withoutOpset = model.Clone();
        withoutOpset.OpsetImport.Clear();
        File.WriteAllBytes(path, File.ReadAllBytes(path)[..withoutOpset.CalculateSize()]);

        var error = Assert.Throws<OnnxFormatException>(() => OnnxModelReader.Read(path));

        Assert.Contains("imports no operator set", error.Message);
    }

    [Fact]
    public void Empty_missing_and_foreign_files_are_errors()
    {
        var empty = temp.File("empty.onnx");
        File.WriteAllBytes(empty, []);
        var text = temp.File("notes.onnx");
        File.WriteAllText(text, "this is not a model, just some text that happens to be here\n");

        Assert.Contains("empty", Assert.Throws<OnnxFormatException>(() => OnnxModelReader.Read(empty)).Message);
        Assert.Contains("no such file", Assert.Throws<OnnxFormatException>(() => OnnxModelReader.Read(temp.File("absent.onnx"))).Message);
        Assert.Contains("not a valid ONNX model", Assert.Throws<OnnxFormatException>(() => OnnxModelReader.Read(text)).Message);
    }

    [Fact]
    public void Raw_data_that_disagrees_with_the_shape_is_corrupt()
    {
        var model = MatMul(64);
        model.Graph.Initializer[0].RawData = ByteString.CopyFrom(new byte[100]);
        var path = Write(model, temp.File("model.onnx"));

        var error = Assert.Throws<OnnxFormatException>(() => OnnxModelReader.Read(path));

        Assert.Contains("tensor 'W' holds 100 bytes of data, its shape [64,64] float32 needs 16384", error.Message);
    }

    [Fact]
    public void Constants_typed_fields_and_subgraph_weights_are_counted()
    {
        // A Constant with float_data (3 x 4 bytes), one with int64_data (5 x 8 bytes), and an If whose
        // branches each hold a float16 initializer of 10 elements (2 x 20 bytes).
        var floats = new TensorProto { Name = "c1", DataType = (int)TensorProto.Types.DataType.Float, Dims = { 3 }, FloatData = { 1, 2, 3 } };
        var longs = new TensorProto { Name = "c2", DataType = (int)TensorProto.Types.DataType.Int64, Dims = { 5 }, Int64Data = { 1, 2, 300, 4, 5 } };
        GraphProto Branch(string name) => Graph(
            [Node("Identity", [name], [$"{name}_out"])],
            inputs: [],
            outputs: [Value($"{name}_out", TensorProto.Types.DataType.Float16, 10)],
            initializers: [RawTensor(name, TensorProto.Types.DataType.Float16, new byte[20], 10)]);
        var graph = Graph(
            [
                Node("Constant", [], ["c1"], TensorAttribute("value", floats)),
                Node("Constant", [], ["c2"], TensorAttribute("value", longs)),
                Node("If", ["cond"], ["y"], GraphAttribute("then_branch", Branch("a")), GraphAttribute("else_branch", Branch("b"))),
            ],
            inputs: [Value("cond", TensorProto.Types.DataType.Bool)],
            outputs: [Value("y", TensorProto.Types.DataType.Float16, 10)]);
        var path = Write(Model(graph), temp.File("model.onnx"));

        var info = OnnxModelReader.Read(path);

        Assert.Equal((3 * 4) + (5 * 8), info.Weights.ConstantBytes);
        Assert.Equal(2 * 20, info.Weights.InlineBytes);
        Assert.Equal(4, info.Weights.TensorCount);
        Assert.Equal("cond: bool[]", Assert.Single(info.Inputs).ToString());
    }

    [Fact]
    public void Typed_values_that_disagree_with_the_shape_are_corrupt()
    {
        var floats = new TensorProto { Name = "c", DataType = (int)TensorProto.Types.DataType.Float, Dims = { 4 }, FloatData = { 1, 2, 3 } };
        var graph = Graph(
            [Node("Constant", [], ["c"], TensorAttribute("value", floats))],
            inputs: [],
            outputs: [Value("c", TensorProto.Types.DataType.Float, 4)]);
        var path = Write(Model(graph), temp.File("model.onnx"));

        var error = Assert.Throws<OnnxFormatException>(() => OnnxModelReader.Read(path));

        Assert.Contains("tensor 'c' holds 3 values, its shape [4] float32 needs 4", error.Message);
    }

    [Fact]
    public void Initializers_listed_as_graph_inputs_are_not_inputs()
    {
        // IR version 3 models list every initializer among the inputs; ONNX Runtime does not feed them.
        var model = MatMul(64);
        model.Graph.Input.Add(Value("W", TensorProto.Types.DataType.Float, 64, 64));
        var path = Write(model, temp.File("model.onnx"));

        var info = OnnxModelReader.Read(path);

        Assert.Equal(["X"], info.Inputs.Select(i => i.Name));
    }
}
