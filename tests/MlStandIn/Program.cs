using GpuSplit.MlStandIn.Control;
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

var app = builder.Build();
var state = app.Services.GetRequiredService<StandInState>();
var actions = app.Services.GetRequiredService<FailureActions>();

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

await app.WaitForShutdownAsync();
return 0;

static int EnvInt(string name, int fallback) =>
    int.TryParse(Environment.GetEnvironmentVariable(name), out var value) ? value : fallback;
