namespace GpuSplit.Shim.Classification;

/// <summary>What an Immich ML request is for; decides whether it may wait for a GPU box.</summary>
public enum MlRequestKind
{
    /// <summary>A user's smart-search query (CLIP textual): a person is waiting.</summary>
    Search,

    /// <summary>CLIP image embedding, Immich's smartSearch queue.</summary>
    SmartSearch,

    /// <summary>Face detection and recognition, Immich's faceDetection queue.</summary>
    FaceDetection,

    /// <summary>Text recognition, Immich's ocr queue.</summary>
    Ocr,

    /// <summary>Image work of a task this shim does not know yet: still a background job.</summary>
    OtherJob,

    /// <summary><c>GET /</c>: the service's banner.</summary>
    Info,
}

public static class MlRequestKinds
{
    /// <summary>Someone waits for the answer, so it is refused at once rather than held.</summary>
    public static bool IsInteractive(this MlRequestKind kind) => kind is MlRequestKind.Search or MlRequestKind.Info;

    /// <summary>The label used in metrics, logs and JSON.</summary>
    public static string Label(this MlRequestKind kind) => kind switch
    {
        MlRequestKind.Search => "search",
        MlRequestKind.SmartSearch => "smart-search",
        MlRequestKind.FaceDetection => "face-detection",
        MlRequestKind.Ocr => "ocr",
        MlRequestKind.OtherJob => "other-job",
        MlRequestKind.Info => "info",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };
}
