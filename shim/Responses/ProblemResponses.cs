using System.Globalization;
using System.Text.Json;

namespace GpuSplit.Shim.Responses;

/// <summary>The JSON body of every answer the shim gives instead of a GPU box: a code, a sentence, the host's state.</summary>
public sealed record ProblemBody(string Error, string Detail, string? Host = null, int? RetryAfterSeconds = null);

public static class ProblemResponses
{
    public static async Task WriteAsync(HttpContext context, int statusCode, ProblemBody body, bool closeConnection = false)
    {
        var response = context.Response;
        response.StatusCode = statusCode;
        response.ContentType = "application/json; charset=utf-8";
        response.Headers.CacheControl = "no-store";
        if (body.RetryAfterSeconds is { } seconds)
        {
            response.Headers.RetryAfter = seconds.ToString(CultureInfo.InvariantCulture);
        }

        if (closeConnection)
        {
            // The request body was not read; closing spares reading (or refusing) the rest of it.
            response.Headers.Connection = "close";
        }

        await JsonSerializer.SerializeAsync(response.Body, body, ShimJsonContext.Default.ProblemBody, context.RequestAborted);
    }
}
