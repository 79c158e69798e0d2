using System.Runtime.InteropServices;
using GpuSplit.Planner.Measure;
using GpuSplit.PlannerMeasure.Runtime;
using Microsoft.ML.OnnxRuntime.Tensors;
using Microsoft.ML.OnnxRuntime;

namespace GpuSplit.PlannerMeasure.Sessions;

/// <summary>
/// Input tensors of Immich's shapes, allocated by ONNX Runtime's own CPU allocator (not the GC heap, so they
/// are freed the moment the measurement ends). Images get random pixels; integer inputs (token ids, masks)
/// get 1, a valid token and a valid mask value for every text model Immich runs.
/// </summary>
internal static class RandomInputs
{
    public static OrtValue Create(PlannedInput input, Random random)
    {
        var type = input.ElementType switch
        {
            "float32" => TensorElementType.Float,
            "float16" => TensorElementType.Float16,
            "float64" => TensorElementType.Double,
            "int64" => TensorElementType.Int64,
            "int32" => TensorElementType.Int32,
            "uint8" => TensorElementType.UInt8,
            "int8" => TensorElementType.Int8,
            "bool" => TensorElementType.Bool,
            _ => throw new MeasureException($"input '{input.Name}' has element type {input.ElementType}, which the planner cannot fill"),
        };
        var value = OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, type, [.. input.Shape]);
        switch (type)
        {
            case TensorElementType.Float:
                foreach (ref var x in value.GetTensorMutableDataAsSpan<float>())
                {
                    x = random.NextSingle();
                }

                break;
            case TensorElementType.Float16:
                foreach (ref var x in value.GetTensorMutableDataAsSpan<Float16>())
                {
                    x = (Float16)random.NextSingle();
                }

                break;
            case TensorElementType.Double:
                foreach (ref var x in value.GetTensorMutableDataAsSpan<double>())
                {
                    x = random.NextDouble();
                }

                break;
            case TensorElementType.Int64:
                value.GetTensorMutableDataAsSpan<long>().Fill(1);
                break;
            case TensorElementType.Int32:
                value.GetTensorMutableDataAsSpan<int>().Fill(1);
                break;
            case TensorElementType.Bool:
                value.GetTensorMutableDataAsSpan<bool>().Fill(true);
                break;
            case TensorElementType.Int8:
                random.NextBytes(MemoryMarshal.AsBytes(value.GetTensorMutableDataAsSpan<sbyte>()));
                break;
            default:
                random.NextBytes(value.GetTensorMutableDataAsSpan<byte>());
                break;
        }

        return value;
    }
}
