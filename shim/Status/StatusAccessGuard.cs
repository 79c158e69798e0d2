using System.Security.Cryptography;
using System.Text;
using GpuSplit.Shim.Configuration;
using GpuSplit.Shim.Responses;
using Microsoft.Extensions.Options;

namespace GpuSplit.Shim.Status;

/// <summary>
/// With <c>Shim:Status:Token</c> set, the status page, its JSON and badge, and the metrics answer only a request that
/// carries the token (<c>Authorization: Bearer …</c>, or <c>?token=…</c> for a browser): they name the GPU boxes'
/// ML and agent URLs. <c>/ping</c> and the ML API stay open, Immich calls them. Registered only when a token is set,
/// so the ML requests' path costs nothing without one.
/// </summary>
public sealed class StatusAccessGuard(RequestDelegate next, IOptions<ShimOptions> options)
{
    public const string QueryParameter = "token";

    private static readonly PathString[] Guarded = ["/status", "/status.json", "/status.svg", "/metrics"];

    private readonly byte[] _token = Encoding.UTF8.GetBytes(options.Value.Status.Token ?? "");

    public Task InvokeAsync(HttpContext context)
    {
        var path = context.Request.Path;
        // By segments, as routing matches them: /status/ and /STATUS reach the page too.
        if (!Guarded.Any(path.StartsWithSegments) || Carries(context.Request))
        {
            return next(context);
        }

        context.Response.Headers.WWWAuthenticate = "Bearer";
        return ProblemResponses.WriteAsync(context, StatusCodes.Status401Unauthorized, new ProblemBody("status-token",
            $"{path} needs the status token (Shim:Status:Token): an Authorization: Bearer header or ?{QueryParameter}=…"));
    }

    private bool Carries(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.ToString();
        var given = authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
            ? authorization["Bearer ".Length..].Trim()
            : request.Query[QueryParameter].ToString();
        // Its content is compared in constant time; only a wrong length answers sooner.
        return CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), _token);
    }
}
