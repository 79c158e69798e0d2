namespace GpuSplit.Shim.Classification;

/// <summary>Why a request is refused before any GPU box sees it: the status, a code and a sentence.</summary>
public sealed record RequestProblem(int StatusCode, string Error, string Detail);

/// <summary>A request's kind, or the problem that keeps it from having one.</summary>
public sealed record RequestClassification(MlRequestKind Kind, RequestProblem? Problem)
{
    public static RequestClassification Of(MlRequestKind kind) => new(kind, null);

    public static RequestClassification Refused(int statusCode, string error, string detail) =>
        new(MlRequestKind.OtherJob, new RequestProblem(statusCode, error, detail));
}
