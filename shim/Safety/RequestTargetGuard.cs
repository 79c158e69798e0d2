using GpuSplit.Shim.Classification;
using GpuSplit.Shim.Responses;
using GpuSplit.Shim.Status;
using Microsoft.AspNetCore.Http.Features;

namespace GpuSplit.Shim.Safety;

/// <summary>
/// Keeps the shim from being an open proxy: it only ever forwards to the GPU boxes it was configured with,
/// and refuses the two request shapes that ask a proxy to go elsewhere, CONNECT and absolute-form targets
/// (<c>GET http://elsewhere/ HTTP/1.1</c>).
/// </summary>
public sealed class RequestTargetGuard(RequestDelegate next, ShimJournal journal)
{
    public Task InvokeAsync(HttpContext context)
    {
        if (HttpMethods.IsConnect(context.Request.Method))
        {
            return RefuseAsync(context, StatusCodes.Status405MethodNotAllowed, "connect-refused",
                "CONNECT is refused: this shim forwards Immich's ML API to its configured GPU hosts only");
        }

        var target = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? "";
        if (!target.StartsWith('/'))
        {
            return RefuseAsync(context, StatusCodes.Status400BadRequest, "absolute-form-refused",
                "absolute-form request targets are refused: this shim is not a forward proxy");
        }

        return next(context);
    }

    private Task RefuseAsync(HttpContext context, int statusCode, string error, string detail)
    {
        journal.Rejected(new RequestProblem(statusCode, error, detail));
        return ProblemResponses.WriteAsync(context, statusCode, new ProblemBody(error, detail), closeConnection: true);
    }
}
