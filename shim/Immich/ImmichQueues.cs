namespace GpuSplit.Shim.Immich;

/// <summary>Immich's queue names (QueueName in @immich/sdk) for the three kinds of work that need the GPU box.</summary>
public static class ImmichQueues
{
    public const string SmartSearch = "smartSearch";
    public const string FaceDetection = "faceDetection";
    public const string Ocr = "ocr";

    /// <summary>The queues whose jobs call the ML service (facialRecognition only clusters, on the server).</summary>
    public static readonly IReadOnlyList<string> MachineLearning = [SmartSearch, FaceDetection, Ocr];
}
