using GpuSplit.Planner.Onnx;
using GpuSplit.Protos.Onnx;

namespace GpuSplit.Planner.Tests.Onnx;

/// <summary>The streaming reader against Google.Protobuf's generated parser, on real exported models.</summary>
public sealed class RealModelAnalysisTests
{
    public static TheoryData<string> Models => ["detection", "recognition"];

    [Theory]
    [MemberData(nameof(Models))]
    public void Weight_count_matches_the_generated_parser(string which)
    {
        var path = which == "detection" ? RealModels.Detection : RealModels.Recognition;

        var info = OnnxModelReader.Read(path);
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(path));

        Assert.Equal(StoredBytes(model.Graph), info.Weights.TotalBytes);
        Assert.Equal(model.Graph.Input.Select(i => i.Name), info.Inputs.Select(i => i.Name));
        Assert.Equal(model.Graph.Output.Select(i => i.Name), info.Outputs.Select(i => i.Name));
        // The weights are nearly the whole file: what is left is the graph's structure.
        Assert.InRange(info.Weights.TotalBytes, info.FileBytes * 0.9, info.FileBytes);
    }

    [Fact]
    public void Recognition_input_keeps_its_symbolic_dimensions()
    {
        var info = OnnxModelReader.Read(RealModels.Recognition);

        var input = Assert.Single(info.Inputs);
        Assert.Equal("float32", input.ElementType);
        Assert.Equal([null, 3, 48, null], input.Shape!.Select(d => d.Value));
        Assert.All(new[] { input.Shape![0], input.Shape[3] }, d => Assert.StartsWith("p2o.DynamicDimension", d.Param));
    }

    /// <summary>Bytes of data as the file stores them, summed over initializers and node attributes.</summary>
    private static long StoredBytes(GraphProto graph) =>
        graph.Initializer.Sum(DataBytes)
        + graph.Node.SelectMany(n => n.Attribute).Sum(a =>
            (a.T is null ? 0 : DataBytes(a.T)) + a.Tensors.Sum(DataBytes)
            + (a.G is null ? 0 : StoredBytes(a.G)) + a.Graphs.Sum(StoredBytes));

    private static long DataBytes(TensorProto t) =>
        t.RawData.Length + (t.FloatData.Count * 4L) + (t.Int32Data.Count * 4L) + (t.Int64Data.Count * 8L)
        + (t.DoubleData.Count * 8L) + (t.Uint64Data.Count * 8L);
}
