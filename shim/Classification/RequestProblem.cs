namespace GpuSplit.Shim.Classification;

/// <summary>Why a request is refused before any GPU box sees it: the status, a code and a sentence.</summary>
public sealed record RequestProblem(int StatusCode, string Error, string Detail);

/// <summary>A request's kind, or the problem that keeps it from having one.</summary>
public sealed record Classification(MlRequestKind Kind, RequestProblem? Problem)
{
    public static Classification Of(MlRequestKind kind) => new(kind, null);

    public static Classification Refused(int statusCode, string error, string detail) =>
        new(MlRequestKind.OtherJob, new RequestProblem(statusCode, error, detail));
}
