using Google.Protobuf;
using GpuSplit.Protos.Onnx;

namespace GpuSplit.Planner.Tests.Onnx;

/// <summary>Small ONNX models written from C# with the planner's own proto, with weights of known size.</summary>
internal static class TestModels
{
    public const int Opset = 17;

    /// <summary>Y[batch, n] = X[batch, n] x W[n, n]: one float32 weight of n*n*4 bytes.</summary>
    public static ModelProto MatMul(int n, string batch = "batch") =>
        Model(
            Graph(
                [Node("MatMul", ["X", "W"], ["Y"])],
                inputs: [Value("X", TensorProto.Types.DataType.Float, batch, n)],
                outputs: [Value("Y", TensorProto.Types.DataType.Float, batch, n)],
                initializers: [RawTensor("W", TensorProto.Types.DataType.Float, FilledWeights(n * n * 4), n, n)]));

    /// <summary>Weight bytes that are not all zero, so no layer can share or skip them.</summary>
    public static byte[] FilledWeights(int bytes)
    {
        var data = new byte[bytes];
        new Random(1).NextBytes(data);
        // Keep every float finite and small: clear the top exponent bits of each little-endian value.
        for (var i = 3; i < data.Length; i += 4)
        {
            data[i] &= 0x3F;
        }

        return data;
    }

    public static ModelProto Model(GraphProto graph) => new()
    {
        IrVersion = 8,
        ProducerName = "gpusplit-tests",
        ProducerVersion = "1",
        Graph = graph,
        OpsetImport = { new OperatorSetIdProto { Domain = "", Version = Opset } },
    };

    public static GraphProto Graph(
        IEnumerable<NodeProto> nodes,
        IEnumerable<ValueInfoProto> inputs,
        IEnumerable<ValueInfoProto> outputs,
        IEnumerable<TensorProto>? initializers = null)
    {
        var graph = new GraphProto { Name = "test" };
        graph.Node.AddRange(nodes);
        graph.Input.AddRange(inputs);
        graph.Output.AddRange(outputs);
        graph.Initializer.AddRange(initializers ?? []);
        return graph;
    }

    public static NodeProto Node(string op, string[] inputs, string[] outputs, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = op, Name = $"{op}_{outputs[0]}" };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attributes);
        return node;
    }

    /// <summary>A value with a shape; each dimension is an int (fixed) or a string (symbolic).</summary>
    public static ValueInfoProto Value(string name, TensorProto.Types.DataType type, params object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var dim in dims)
        {
            shape.Dim.Add(dim is string symbol
                ? new TensorShapeProto.Types.Dimension { DimParam = symbol }
                : new TensorShapeProto.Types.Dimension { DimValue = Convert.ToInt64(dim, System.Globalization.CultureInfo.InvariantCulture) });
        }

        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }

    public static TensorProto RawTensor(string name, TensorProto.Types.DataType type, byte[] data, params long[] dims)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(data) };
        tensor.Dims.AddRange(dims);
        return tensor;
    }

    /// <summary>A tensor whose bytes live in <paramref name="location"/> (relative to the model) at <paramref name="offset"/>.</summary>
    public static TensorProto ExternalTensor(string name, TensorProto.Types.DataType type, string location, long offset, long length, params long[] dims)
    {
        var tensor = new TensorProto { Name = name, DataType = (int)type, DataLocation = TensorProto.Types.DataLocation.External };
        tensor.Dims.AddRange(dims);
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = location });
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        tensor.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = length.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        return tensor;
    }

    public static AttributeProto TensorAttribute(string name, TensorProto value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Tensor, T = value };

    public static AttributeProto GraphAttribute(string name, GraphProto value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.Graph, G = value };

    public static string Write(ModelProto model, string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var file = File.Create(path);
        model.WriteTo(file);
        return path;
    }

    /// <summary>
    /// The MatMul model with its weight in an external file next to it, at a page-aligned offset as
    /// ONNX's own writer places it (so ONNX Runtime may map it).
    /// </summary>
    public static string WriteExternalMatMul(string folder, int n, string dataFile = "model.onnx.data")
    {
        const long offset = 4096;
        var weights = FilledWeights(n * n * 4);
        var model = MatMul(n);
        model.Graph.Initializer.Clear();
        model.Graph.Initializer.Add(ExternalTensor("W", TensorProto.Types.DataType.Float, dataFile, offset, weights.Length, n, n));
        Directory.CreateDirectory(folder);
        using (var data = File.Create(Path.Combine(folder, dataFile)))
        {
            data.Write(new byte[offset]);
            data.Write(weights);
        }

        return Write(model, Path.Combine(folder, "model.onnx"));
    }
}
