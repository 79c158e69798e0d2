using System.Collections.Concurrent;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace GpuSplit.Testing.Shim;

/// <summary>What the stand-in received in one /predict.</summary>
public sealed record PredictCall(string ContentType, long? ContentLength, string Entries, string? Text, string? ImageSha256, long ImageLength, string? ImageFileName, string? ImageContentType);

/// <summary>
/// A small real HTTP server on loopback answering like Immich's ML service (immich_ml/main.py): GET /ping
/// "pong", GET / the banner, POST /predict parsing the multipart form and answering JSON keyed by task.
/// It records what it received; a test can make it wait before answering, die mid-answer, or drop its pings.
/// </summary>
public sealed class MlStandIn : IAsyncDisposable
{
    private readonly WebApplication _app;

    private MlStandIn(WebApplication app) => _app = app;

    public Uri Address => new(_app.Urls.Single());

    public ConcurrentQueue<PredictCall> Calls { get; } = new();

    /// <summary>When set, /predict records the call, then waits for this before answering.</summary>
    public TaskCompletionSource? Gate { get; set; }

    /// <summary>When set, /predict starts a 200 answer, sends part of it, and drops the connection a moment later.</summary>
    public bool DieMidResponse { get; set; }

    /// <summary>When set, /predict answers 500 with this detail, as immich_ml does while stuck after a CUDA error.</summary>
    public string? StuckError { get; set; }

    /// <summary>When set, /predict drops the connection after reading the request, before any answer.</summary>
    public bool DieBeforeResponse { get; set; }

    /// <summary>When set, /ping drops the connection unanswered: with its agent gone too, the box counts as away.</summary>
    public bool DropPings { get; set; }

    public static async Task<MlStandIn> StartAsync(CancellationToken cancellationToken, int port = 0)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Listen(IPAddress.Loopback, port);
            k.Limits.MaxRequestBodySize = 100L * 1024 * 1024;
        });
        var app = builder.Build();
        var standIn = new MlStandIn(app);
        app.MapGet("/ping", (HttpContext context) =>
        {
            if (standIn.DropPings)
            {
                context.Abort();
                return Results.Empty;
            }

            return Results.Text("pong");
        });
        app.MapGet("/", () => Results.Json(new { message = "Immich ML" }));
        app.MapPost("/predict", standIn.PredictAsync);
        await app.StartAsync(cancellationToken);
        return standIn;
    }

    private async Task PredictAsync(HttpContext context)
    {
        var form = await context.Request.ReadFormAsync(context.RequestAborted);
        var image = form.Files.GetFile("image");
        string? sha = null;
        if (image is not null)
        {
            await using var stream = image.OpenReadStream();
            sha = Convert.ToHexString(await SHA256.HashDataAsync(stream, context.RequestAborted));
        }

        var entries = form["entries"].ToString();
        Calls.Enqueue(new PredictCall(
            context.Request.ContentType ?? "", context.Request.ContentLength, entries,
            form.TryGetValue("text", out var text) ? text.ToString() : null,
            sha, image?.Length ?? 0, image?.FileName, image?.ContentType));

        if (Gate is { } gate)
        {
            await gate.Task.WaitAsync(context.RequestAborted);
        }

        if (DieBeforeResponse)
        {
            context.Abort();
            return;
        }

        if (StuckError is { } stuck)
        {
            context.Response.StatusCode = StatusCodes.Status500InternalServerError;
            await context.Response.WriteAsJsonAsync(new { detail = stuck }, context.RequestAborted);
            return;
        }

        var answer = JsonSerializer.SerializeToUtf8Bytes(Answer(entries, image is not null));
        if (DieMidResponse)
        {
            context.Response.ContentLength = answer.Length * 10L;
            context.Response.ContentType = "application/json";
            await context.Response.Body.WriteAsync(answer, context.RequestAborted);
            await context.Response.Body.FlushAsync(context.RequestAborted);
            // The first bytes reach the shim and its client before the box dies.
            await Task.Delay(200, context.RequestAborted);
            context.Abort();
            return;
        }

        context.Response.ContentType = "application/json";
        await context.Response.Body.WriteAsync(answer, context.RequestAborted);
    }

    /// <summary>Immich's response shapes: a CLIP embedding as a JSON string, faces and OCR as lists.</summary>
    private static Dictionary<string, object> Answer(string entries, bool hasImage)
    {
        using var request = JsonDocument.Parse(entries);
        var answer = new Dictionary<string, object>();
        foreach (var task in request.RootElement.EnumerateObject())
        {
            answer[task.Name] = task.Name switch
            {
                "clip" => "[" + string.Join(",", Enumerable.Range(0, 512).Select(i => (i % 7 / 10.0).ToString(System.Globalization.CultureInfo.InvariantCulture))) + "]",
                "facial-recognition" => new[] { new { boundingBox = new { x1 = 10, y1 = 20, x2 = 110, y2 = 140 }, embedding = "[0.1,0.2]", score = 0.98 } },
                "ocr" => new { text = new[] { "IMMICH" }, box = new[] { 1, 2, 3, 4, 5, 6, 7, 8 }, boxScore = new[] { 0.9 }, textScore = new[] { 0.95 } },
                _ => new { },
            };
        }

        if (hasImage)
        {
            answer["imageHeight"] = 1440;
            answer["imageWidth"] = 1920;
        }

        return answer;
    }

    public async ValueTask DisposeAsync()
    {
        Gate?.TrySetResult();
        await _app.StopAsync(new CancellationToken(canceled: true));
        await _app.DisposeAsync();
    }
}
