using GpuSplit.MlStandIn.Control;
using GpuSplit.MlStandIn.Gpu;
using GpuSplit.MlStandIn.Predict;

// Behaves like Immich's ML service (machine-learning/immich_ml/main.py) on the surface the server and the
// agent use: GET /, GET /ping, POST /predict. Listens where the real one does: IMMICH_HOST:IMMICH_PORT.
var builder = WebApplication.CreateSlimBuilder(args);
builder.Logging.ClearProviders();
var host = Environment.GetEnvironmentVariable("IMMICH_HOST") ?? "0.0.0.0";
var port = Environment.GetEnvironmentVariable("IMMICH_PORT") ?? "3003";
builder.WebHost.UseUrls($"http://{host}:{port}");
builder.Services.AddSingleton<StandInState>();
builder.Services.AddSingleton<FailureActions>();
builder.Services.AddSingleton<GpuWorker>();

var app = builder.Build();
var state = app.Services.GetRequiredService<StandInState>();
var actions = app.Services.GetRequiredService<FailureActions>();
GpuWorker worker;
try
{
    worker = app.Services.GetRequiredService<GpuWorker>();
}
catch (InvalidOperationException error)
{
    Console.Error.WriteLine($"ml-standin: {error.Message}");
    return 2;
}

state.PredictDelay = TimeSpan.FromMilliseconds(EnvInt("STANDIN_PREDICT_DELAY_MS", 0));

// Real workers take a while to import and load before they answer; tests use this to see STARTING.
var startDelay = EnvInt("STANDIN_START_DELAY_MS", 0);
if (startDelay > 0)
{
    await Task.Delay(startDelay);
}

app.MapGet("/", () => Results.Json(new Dictionary<string, string> { ["message"] = "Immich ML" }));
app.MapGet("/ping", () => state.PingFails ? Results.StatusCode(503) : Results.Text("pong"));
app.MapPost("/predict", PredictEndpoint.HandleAsync);
ControlEndpoints.Map(app);

await app.StartAsync();
Console.WriteLine($"stand-in for immich_ml listening on {host}:{port} (pid {Environment.ProcessId})");

// Actions at start make failures that happen before anyone could call the control API: a worker that
// exits at once (crash loop), or an image that cannot run on the card.
foreach (var action in (Environment.GetEnvironmentVariable("STANDIN_ON_START") ?? "")
             .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
{
    if (!StandInAction.TryParse(action, out var parsed))
    {
        Console.Error.WriteLine($"ml-standin: unknown STANDIN_ON_START action '{action}'");
        return 2;
    }

    actions.Run(parsed);
}

if (worker.Enabled)
{
    _ = RecycleWhenIdleAsync(worker, app.Lifetime.ApplicationStopping);
    // A process that ends holds no GPU memory: NVML stops listing it.
    app.Lifetime.ApplicationStopped.Register(worker.ProcessEnded);
}

await app.WaitForShutdownAsync();
return 0;

// immich_ml's idle_shutdown_task: checks every MACHINE_LEARNING_MODEL_TTL_POLL_S seconds.
static async Task RecycleWhenIdleAsync(GpuWorker worker, CancellationToken stopping)
{
    using var timer = new PeriodicTimer(worker.TtlPoll);
    try
    {
        while (await timer.WaitForNextTickAsync(stopping))
        {
            worker.RecycleIfIdle();
        }
    }
    catch (OperationCanceledException)
    {
    }
}

static int EnvInt(string name, int fallback) =>
    int.TryParse(Environment.GetEnvironmentVariable(name), out var value) ? value : fallback;
