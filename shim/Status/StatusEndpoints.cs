using System.Text.Json;
using GpuSplit.Shim.Responses;
using GpuSplit.Shim.Upstreams;
using Prometheus;

namespace GpuSplit.Shim.Status;

/// <summary>What the shim answers itself: <c>/ping</c>, the status page, its JSON and badge, and the metrics.</summary>
public static class StatusEndpoints
{
    public static void MapShimStatus(this IEndpointRouteBuilder endpoints)
    {
        // Immich's availability check: pong while work can be accepted (forwarded or held); 503 when every box is in
        // lasting trouble, or away while holding is switched off.
        endpoints.MapMethods("/ping", [HttpMethods.Get, HttpMethods.Head], (UpstreamRegistry upstreams) =>
            upstreams.AcceptsWork
                ? Results.Text("pong", "text/plain; charset=utf-8")
                : Results.Text(
                    $"GPU host unusable: {string.Join("; ", upstreams.All.Select(u => $"{u.Name} {u.Health.State}: {u.Health.Reason}"))}",
                    "text/plain; charset=utf-8",
                    statusCode: StatusCodes.Status503ServiceUnavailable));

        endpoints.MapGet("/status", (HttpContext context, StatusReport report) =>
        {
            NoStore(context);
            var token = context.Request.Query[StatusAccessGuard.QueryParameter].ToString();
            var keep = token.Length == 0 ? "" : $"?{StatusAccessGuard.QueryParameter}={Uri.EscapeDataString(token)}";
            return Results.Text(StatusPage.Render(report.Build(), keep), "text/html; charset=utf-8");
        });

        endpoints.MapGet("/status.json", async (HttpContext context, StatusReport report) =>
        {
            NoStore(context);
            context.Response.ContentType = "application/json; charset=utf-8";
            await JsonSerializer.SerializeAsync(context.Response.Body, report.Build(), ShimJsonContext.Default.StatusSnapshot, context.RequestAborted);
        });

        endpoints.MapGet("/status.svg", (HttpContext context, StatusReport report) =>
        {
            NoStore(context);
            return Results.Text(StatusBadge.Render(report.Build()), "image/svg+xml; charset=utf-8");
        });

        var metrics = endpoints.ServiceProvider.GetRequiredService<ShimMetrics>();
        // Built now so that its scrape-time sampling is registered before the first scrape.
        endpoints.ServiceProvider.GetRequiredService<MetricsSampler>();
        endpoints.MapMetrics("/metrics", metrics.Registry);
    }

    private static void NoStore(HttpContext context) => context.Response.Headers.CacheControl = "no-store";
}
