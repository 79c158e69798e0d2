using GpuSplit.Planner.Catalog;
using GpuSplit.Planner.Measure;
using GpuSplit.Planner.Onnx;
using GpuSplit.PlannerMeasure.Runtime;

namespace GpuSplit.PlannerMeasure.Sessions;

/// <summary>
/// The inputs Immich feeds a component: the model's declared shape, with its dynamic dimensions taken from
/// the catalog's input shape and the batch axis set to Immich's batch.
/// </summary>
public static class InputPlan
{
    /// <exception cref="MeasureException">The model's inputs do not match the catalog's shape.</exception>
    public static IReadOnlyList<PlannedInput> Resolve(OnnxModelInfo model, InputSpec? catalog)
    {
        if (model.Inputs.Count == 0)
        {
            throw new MeasureException("the model declares no inputs");
        }

        return model.Inputs.Select(input => Resolve(input, catalog)).ToList();
    }

    private static PlannedInput Resolve(OnnxValue input, InputSpec? catalog)
    {
        if (input.Shape is null)
        {
            throw new MeasureException($"input '{input.Name}' ({input.ElementType}) declares no tensor shape");
        }

        var fixedShape = input.Shape.All(d => d.IsFixed);
        if (catalog is null)
        {
            return fixedShape
                ? new PlannedInput(input.Name, input.ElementType, input.Shape.Select(d => d.Value!.Value).ToList())
                : throw new MeasureException($"input {input} has dynamic dimensions and the catalog gives no input shape for this component");
        }

        if (catalog.Shape.Count != input.Shape.Count)
        {
            throw new MeasureException(
                $"input {input} has {input.Shape.Count} dimensions, the catalog's shape [{string.Join(",", catalog.Shape)}] has {catalog.Shape.Count}");
        }

        var shape = new List<long>(input.Shape.Count);
        for (var axis = 0; axis < input.Shape.Count; axis++)
        {
            // Axis 0 is the batch: Immich stacks up to `batch` images (faces, text lines) into one request.
            var wanted = axis == 0 ? catalog.Batch : catalog.Shape[axis];
            if (input.Shape[axis].Value is { } declared && declared != wanted)
            {
                throw new MeasureException(
                    $"input {input} does not match the catalog: axis {axis} is fixed at {declared}, Immich feeds {wanted} (shape [{string.Join(",", catalog.Shape)}], batch {catalog.Batch})");
            }

            shape.Add(wanted);
        }

        return new PlannedInput(input.Name, input.ElementType, shape);
    }
}
