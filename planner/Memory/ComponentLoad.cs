using GpuSplit.Planner.Catalog;

namespace GpuSplit.Planner.Memory;

/// <summary>
/// One model component as the memory model sees it: what its session holds whatever the load, and what each
/// request in flight adds. Built from the catalog (estimates) or from measurements; the model does not care which.
/// </summary>
/// <param name="WeightsBytes">Initializers as ONNX Runtime's CUDA arena holds them (kSameAsRequested: exactly what is asked).</param>
/// <param name="PerRequestBytes">Activations and cuDNN scratch of one request at Immich's input size and batch.</param>
/// <param name="RatchetBytes">
/// What the arena keeps from input sizes seen before the largest one. The arena never shrinks while the model is
/// loaded, so a component whose input shape changes with every image (OCR detection) keeps a buffer for each size
/// (Immich issue 23462). Zero for fixed-shape inputs.
/// </param>
/// <param name="Origin">Where <paramref name="WeightsBytes"/> came from (and the per-request figure, unless <see cref="ActivationsOrigin"/> says otherwise).</param>
public sealed record ComponentLoad(
    string Model,
    ModelTask Task,
    ComponentType Type,
    long WeightsBytes,
    long PerRequestBytes,
    long RatchetBytes,
    FigureOrigin Origin)
{
    private readonly FigureOrigin? activationsOrigin;

    /// <summary>Where <see cref="PerRequestBytes"/> (and so the ratchet) came from: an observed load pins the weights only.</summary>
    public FigureOrigin ActivationsOrigin
    {
        get => activationsOrigin ?? Origin;
        init => activationsOrigin = value;
    }

    /// <summary>The Immich job whose concurrency multiplies this component's per-request memory.</summary>
    public int ConcurrencyIn(JobConcurrency concurrency) => (Task, Type) switch
    {
        (ModelTask.Clip, ComponentType.Visual) => concurrency.SmartSearch,
        (ModelTask.Clip, _) => JobConcurrency.SearchQueries,
        (ModelTask.FacialRecognition, _) => concurrency.FaceDetection,
        _ => concurrency.Ocr,
    };
}
