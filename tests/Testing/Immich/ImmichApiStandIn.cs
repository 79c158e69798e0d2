using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace GpuSplit.Testing.Immich;

/// <summary>
/// A real HTTP server on loopback answering the part of Immich's API the shim uses, as one Immich release does, with the
/// endpoints and JSON shapes its @immich/sdk states (build/fetch-client.js and fetch-client.d.ts of that version):
/// <c>GET /api/server/version</c> (ServerVersionResponseDto, no key needed) on both; on 3.2.2 <c>GET /api/queues</c>
/// (QueueResponseDto[]) and <c>PUT /api/queues/{name}</c> (QueueUpdateDto in, QueueResponseDto out); on both
/// <c>GET /api/jobs</c> ({name: {jobCounts, queueStatus}}) and <c>PUT /api/jobs/{name}</c> (a command: start, pause,
/// resume, ...; {jobCounts, queueStatus} out). A route the release lacks gets NestJS's 404. Checks <c>x-api-key</c>
/// (401 otherwise, as Immich does), records every call, and lets the test set queue statistics or make the server fail.
/// Written independently of the shim's client: its JSON is built by hand, not with the shim's records, so a wrong name
/// on either side shows.
/// </summary>
public sealed class ImmichApiStandIn : IAsyncDisposable
{
    /// <summary>The newest release's queue names (QueueName in @immich/sdk 3.2.2), in its order.</summary>
    public static IReadOnlyList<string> QueueNames => ImmichRelease.V3_2_2.QueueNames;

    private readonly WebApplication _app;
    private readonly ConcurrentQueue<RecordedCall> _calls = new();
    private readonly Lock _gate = new();
    private readonly Dictionary<string, QueueState> _queues;
    private int _versionAsks;

    private ImmichApiStandIn(WebApplication app, string apiKey, ImmichRelease release)
    {
        _app = app;
        ApiKey = apiKey;
        Release = release;
        _queues = release.QueueNames.ToDictionary(n => n, _ => new QueueState());
    }

    public string ApiKey { get; }

    /// <summary>The Immich release whose API this stand-in speaks.</summary>
    public ImmichRelease Release { get; }

    /// <summary>How often <c>GET /api/server/version</c> was asked; those asks are not in <see cref="Calls"/>.</summary>
    public int VersionAsks => Volatile.Read(ref _versionAsks);

    public Uri Url { get; private set; } = null!;

    /// <summary>Every request but the version's, in order, including refused ones.</summary>
    public IReadOnlyList<RecordedCall> Calls => [.. _calls];

    /// <summary>
    /// When set, every request but the version's is answered with this status and no body (a server in trouble): the
    /// version, asked first, answers, so that the call under test is the one that fails.
    /// </summary>
    public int? FailWith { get; set; }

    /// <summary>Delays every answer (a server that hangs).</summary>
    public TimeSpan Delay { get; set; }

    /// <param name="release">The release to speak; the newest (3.2.2) when not given.</param>
    /// <param name="port">0 for any free port; a given port brings Immich back where a client already looks for it.</param>
    public static async Task<ImmichApiStandIn> StartAsync(string apiKey = "test-api-key", CancellationToken cancellationToken = default, ImmichRelease? release = null,
        int port = 0)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        var app = builder.Build();
        var standIn = new ImmichApiStandIn(app, apiKey, release ?? ImmichRelease.V3_2_2);
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
        app.MapGet("/api/server/version", () =>
        {
            Interlocked.Increment(ref _versionAsks);
            return Json(Release.VersionResponse());
        });
        app.Use(async (context, next) =>
        {
            if (context.Request.Path == "/api/server/version")
            {
                // Immich answers it without a key.
                await Task.Delay(Delay, context.RequestAborted);
                await next(context);
                return;
            }

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

        // NestJS's answer to a route the release does not have (e.g. /api/queues before 2.3.0).
        app.MapFallback((HttpContext context) => Results.NotFound(new JsonObject
        {
            ["message"] = $"Cannot {context.Request.Method} {context.Request.Path}",
            ["error"] = "Not Found",
            ["statusCode"] = 404,
        }));
        app.MapGet("/api/jobs", () => Json(new JsonObject([.. Release.QueueNames.Select(n => KeyValuePair.Create<string, JsonNode?>(n, JobStatus(n)))])));
        if (!Release.QueuesApi)
        {
            MapJobCommand(app);
            return;
        }

        app.MapGet("/api/queues", () => Json(new JsonArray([.. Release.QueueNames.Select(QueueResponse)])));
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
        MapJobCommand(app);
    }

    /// <summary>
    /// <c>PUT /api/jobs/{name}</c>: sendJobCommand in 1.135.3 (JobCommandDto in, JobStatusDto out), runQueueCommandLegacy
    /// in 3.2.2 (QueueCommandDto in, QueueResponseLegacyDto out): the same fields. Pause and resume change the queue.
    /// </summary>
    private void MapJobCommand(WebApplication app) =>
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
                _queues[name].IsPaused = command["command"]!.GetValue<string>() switch
                {
                    "pause" => true,
                    "resume" => false,
                    _ => _queues[name].IsPaused,
                };
            }

            return Json(JobStatus(name));
        });

    private JsonObject JobStatus(string name)
    {
        lock (_gate)
        {
            var state = _queues[name];
            return new JsonObject
            {
                ["jobCounts"] = Statistics(state),
                ["queueStatus"] = new JsonObject { ["isActive"] = state.Active > 0, ["isPaused"] = state.IsPaused },
            };
        }
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

/// <summary>An Immich release as its @immich/sdk package states it: its version, whether it has the queues API, its queues.</summary>
public sealed record ImmichRelease(int Major, int Minor, int Patch, bool QueuesApi, IReadOnlyList<string> QueueNames)
{
    /// <summary>
    /// @immich/sdk 3.2.2, the newest release: the queues API (since 2.3.0) beside the deprecated jobs API; QueueName in
    /// its order, ocr included; ServerVersionResponseDto has <c>prerelease</c>.
    /// </summary>
    public static readonly ImmichRelease V3_2_2 = new(3, 2, 2, QueuesApi: true,
    [
        "thumbnailGeneration", "metadataExtraction", "videoConversion", "faceDetection", "facialRecognition", "smartSearch",
        "duplicateDetection", "backgroundTask", "storageTemplateMigration", "migration", "search", "sidecar", "library",
        "notifications", "backupDatabase", "ocr", "workflow", "integrityCheck", "editor",
    ]);

    /// <summary>
    /// @immich/sdk 1.135.3, the 1.13x line (1.138.1 has the same calls and shapes): the jobs API alone; JobName (the keys of
    /// AllJobStatusResponseDto) in its order, no ocr; ServerVersionResponseDto is major, minor, patch.
    /// </summary>
    public static readonly ImmichRelease V1_135_3 = new(1, 135, 3, QueuesApi: false,
    [
        "thumbnailGeneration", "metadataExtraction", "videoConversion", "faceDetection", "facialRecognition", "smartSearch",
        "duplicateDetection", "backgroundTask", "storageTemplateMigration", "migration", "search", "sidecar", "library",
        "notifications", "backupDatabase",
    ]);

    public JsonObject VersionResponse()
    {
        var version = new JsonObject { ["major"] = Major, ["minor"] = Minor, ["patch"] = Patch };
        if (Major >= 2)
        {
            version["prerelease"] = null;
        }

        return version;
    }

    public override string ToString() => $"Immich {Major}.{Minor}.{Patch}";
}

/// <param name="Authorized">The call carried the right <c>x-api-key</c>.</param>
public sealed record RecordedCall(string Method, string Path, string ApiKey, string? ContentType, JsonNode? Body, bool Authorized);
