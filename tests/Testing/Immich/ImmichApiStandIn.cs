using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace GpuSplit.Testing.Immich;

/// <summary>
/// A real HTTP server on loopback answering the part of Immich's API the shim uses, with the endpoints and JSON
/// shapes of @immich/sdk 3.2.2 (build/fetch-client.js and fetch-client.d.ts): <c>GET /api/queues</c> (QueueResponseDto[]),
/// <c>PUT /api/queues/{name}</c> (QueueUpdateDto in, QueueResponseDto out), <c>PUT /api/jobs/{name}</c> (QueueCommandDto in,
/// QueueResponseLegacyDto out). Checks <c>x-api-key</c> (401 otherwise, as Immich does), records every call, and lets the
/// test set queue statistics or make the server fail. Written independently of the shim's client: its JSON is built
/// by hand, not with the shim's records, so a wrong name on either side shows.
/// </summary>
public sealed class ImmichApiStandIn : IAsyncDisposable
{
    // Immich's QueueName values (fetch-client.d.ts, enum QueueName), in its order.
    public static readonly IReadOnlyList<string> QueueNames =
    [
        "thumbnailGeneration", "metadataExtraction", "videoConversion", "faceDetection", "facialRecognition", "smartSearch",
        "duplicateDetection", "backgroundTask", "storageTemplateMigration", "migration", "search", "sidecar", "library",
        "notifications", "backupDatabase", "ocr", "workflow", "integrityCheck", "editor",
    ];

    private readonly WebApplication _app;
    private readonly ConcurrentQueue<RecordedCall> _calls = new();
    private readonly Lock _gate = new();
    private readonly Dictionary<string, QueueState> _queues = QueueNames.ToDictionary(n => n, _ => new QueueState());

    private ImmichApiStandIn(WebApplication app, string apiKey)
    {
        _app = app;
        ApiKey = apiKey;
    }

    public string ApiKey { get; }

    public Uri Url { get; private set; } = null!;

    /// <summary>Every request, in order, including refused ones.</summary>
    public IReadOnlyList<RecordedCall> Calls => [.. _calls];

    /// <summary>When set, every request is answered with this status and no body (a server in trouble).</summary>
    public int? FailWith { get; set; }

    /// <summary>Delays every answer (a server that hangs).</summary>
    public TimeSpan Delay { get; set; }

    public static async Task<ImmichApiStandIn> StartAsync(string apiKey = "test-api-key", CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var standIn = new ImmichApiStandIn(app, apiKey);
        standIn.Map(app);
        await app.StartAsync(cancellationToken);
        var address = app.Urls.Single();
        standIn.Url = new Uri(address);
        return standIn;
    }

    /// <summary>Sets one queue's statistics (jobs waiting, active, ...); the others keep theirs.</summary>
    public void SetStatistics(string queue, long waiting = 0, long active = 0, long paused = 0, long delayed = 0, long completed = 0, long failed = 0)
    {
        lock (_gate)
        {
            var state = _queues[queue];
            (state.Waiting, state.Active, state.Paused, state.Delayed, state.Completed, state.Failed) = (waiting, active, paused, delayed, completed, failed);
        }
    }

    public bool IsPaused(string queue)
    {
        lock (_gate)
        {
            return _queues[queue].IsPaused;
        }
    }

    /// <summary>How often "Missing" (start, not forced) was pressed for <paramref name="queue"/>.</summary>
    public int MissingPresses(string queue) =>
        Calls.Count(c => c.Authorized && c.Method == "PUT" && c.Path == $"/api/jobs/{queue}" && c.Body?["command"]?.GetValue<string>() == "start"
            && c.Body?["force"]?.GetValue<bool>() == false);

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private void Map(WebApplication app)
    {
        app.Use(async (context, next) =>
        {
            JsonNode? body = null;
            if (context.Request.ContentLength > 0 || context.Request.Headers.TransferEncoding.Count > 0)
            {
                body = await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted);
            }

            var authorized = context.Request.Headers["x-api-key"] == ApiKey;
            _calls.Enqueue(new RecordedCall(context.Request.Method, context.Request.Path.Value ?? "", context.Request.Headers["x-api-key"].ToString(),
                context.Request.ContentType, body, authorized));
            if (Delay > TimeSpan.Zero)
            {
                await Task.Delay(Delay, context.RequestAborted);
            }

            if (FailWith is { } status)
            {
                context.Response.StatusCode = status;
                return;
            }

            if (!authorized)
            {
                // Immich's answer to a missing or wrong key.
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                await context.Response.WriteAsJsonAsync(new JsonObject
                {
                    ["message"] = "Invalid API key",
                    ["error"] = "Unauthorized",
                    ["statusCode"] = 401,
                });
                return;
            }

            context.Items["body"] = body;
            await next(context);
        });

        app.MapGet("/api/queues", () => Json(new JsonArray([.. QueueNames.Select(QueueResponse)])));
        app.MapGet("/api/queues/{name}", (string name) => _queues.ContainsKey(name) ? Json(QueueResponse(name)) : NotFound(name));
        app.MapPut("/api/queues/{name}", (string name, HttpContext context) =>
        {
            if (!_queues.ContainsKey(name))
            {
                return NotFound(name);
            }

            if (context.Items["body"] is JsonObject { } update && update["isPaused"] is { } paused)
            {
                lock (_gate)
                {
                    _queues[name].IsPaused = paused.GetValue<bool>();
                }
            }

            return Json(QueueResponse(name));
        });
        app.MapPut("/api/jobs/{name}", (string name, HttpContext context) =>
        {
            if (!_queues.ContainsKey(name))
            {
                return NotFound(name);
            }

            if (context.Items["body"] is not JsonObject { } command || command["command"]?.GetValue<string>() is not ("start" or "pause" or "resume" or "empty" or "clear-failed"))
            {
                return Results.BadRequest(new JsonObject { ["message"] = new JsonArray("command must be one of the following values: start, pause, resume, empty, clear-failed") });
            }

            lock (_gate)
            {
                var state = _queues[name];
                return Json(new JsonObject
                {
                    ["jobCounts"] = Statistics(state),
                    ["queueStatus"] = new JsonObject { ["isActive"] = state.Active > 0, ["isPaused"] = state.IsPaused },
                });
            }
        });
    }

    private JsonObject QueueResponse(string name)
    {
        lock (_gate)
        {
            var state = _queues[name];
            return new JsonObject { ["name"] = name, ["isPaused"] = state.IsPaused, ["statistics"] = Statistics(state) };
        }
    }

    private static JsonObject Statistics(QueueState s) => new()
    {
        ["active"] = s.Active,
        ["completed"] = s.Completed,
        ["delayed"] = s.Delayed,
        ["failed"] = s.Failed,
        ["paused"] = s.Paused,
        ["waiting"] = s.Waiting,
    };

    private static IResult Json(JsonNode node) => Results.Text(node.ToJsonString(), "application/json");

    private static IResult NotFound(string name) => Results.NotFound(new JsonObject { ["message"] = $"Unknown queue {name}" });

    private sealed class QueueState
    {
        public bool IsPaused { get; set; }

        public long Waiting { get; set; }

        public long Active { get; set; }

        public long Paused { get; set; }

        public long Delayed { get; set; }

        public long Completed { get; set; }

        public long Failed { get; set; }
    }
}

/// <param name="Authorized">The call carried the right <c>x-api-key</c>.</param>
public sealed record RecordedCall(string Method, string Path, string ApiKey, string? ContentType, JsonNode? Body, bool Authorized);
