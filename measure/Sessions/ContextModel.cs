using Google.Protobuf;
using GpuSplit.Planner.Measure;
using GpuSplit.PlannerMeasure.Runtime;
using GpuSplit.Protos.Onnx;

namespace GpuSplit.PlannerMeasure.Sessions;

/// <summary>
/// A one-node model (y = Identity(x), one float) whose session starts everything a real model's session needs
/// on the device (the runtime, the execution provider, on a GPU the CUDA context and library handles) while
/// holding almost nothing itself: the bare context every model's share is measured on top of.
/// </summary>
internal static class ContextModel
{
    public const string Input = "x";
    public const string Output = "y";

    public static byte[] Bytes { get; } = Build();

    private static byte[] Build()
    {
        static ValueInfoProto Scalar(string name) => new()
        {
            Name = name,
            Type = new TypeProto
            {
                TensorType = new TypeProto.Types.Tensor
                {
                    ElemType = (int)TensorProto.Types.DataType.Float,
                    Shape = new TensorShapeProto { Dim = { new TensorShapeProto.Types.Dimension { DimValue = 1 } } },
                },
            },
        };

        var model = new ModelProto
        {
            IrVersion = 8,
            ProducerName = "gpusplit-planner",
            OpsetImport = { new OperatorSetIdProto { Version = 17 } },
            Graph = new GraphProto
            {
                Name = "context",
                Node = { new NodeProto { OpType = "Identity", Input = { Input }, Output = { Output } } },
                Input = { Scalar(Input) },
                Output = { Scalar(Output) },
            },
        };
        return model.ToByteArray();
    }
}
