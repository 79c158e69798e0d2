using GpuSplit.Shim.Configuration;
using GpuSplit.Shim.Classification;
using GpuSplit.Shim.Responses;
using GpuSplit.Shim.Status;
using Microsoft.Extensions.Options;

namespace GpuSplit.Shim.Safety;

/// <summary>
/// Refuses a body announced larger than the limit before anything reads it. Kestrel's own limit (set to the
/// same size) still stops a chunked body that grows past it while streaming.
/// </summary>
public sealed class BodySizeGuard(RequestDelegate next, IOptions<ShimOptions> options, ShimJournal journal)
{
    private readonly long _limit = options.Value.MaxRequestBodyBytes;

    public Task InvokeAsync(HttpContext context)
    {
        if (context.Request.ContentLength > _limit)
        {
            var problem = new RequestProblem(StatusCodes.Status413PayloadTooLarge, "too-large",
                $"the request body ({context.Request.ContentLength} bytes) is larger than the limit of {_limit} bytes (Shim:MaxRequestBodyBytes)");
            journal.Rejected(problem);
            return ProblemResponses.WriteAsync(context, problem.StatusCode, new ProblemBody(problem.Error, problem.Detail), closeConnection: true);
        }

        return next(context);
    }
}
