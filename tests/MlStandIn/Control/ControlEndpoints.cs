using GpuSplit.MlStandIn.Gpu;

namespace GpuSplit.MlStandIn.Control;

/// <summary>
/// The control API under <c>/_standin/</c>: <c>POST /_standin/{action}?arg=...</c> performs one
/// <see cref="StandInAction"/>; <c>GET /_standin/state</c> shows what is switched on. Not part of Immich's API.
/// </summary>
public static class ControlEndpoints
{
    public static void Map(WebApplication app)
    {
        app.MapGet("/_standin/state", (StandInState state, GpuWorker worker) => Results.Json(new StandInStatus(
            Environment.ProcessId, state.PingFails, state.StuckError, (int)state.PredictDelay.TotalMilliseconds, state.PredictCount,
            worker.Bytes, worker.Loaded)));

        app.MapPost("/_standin/{action}", (string action, string? arg, FailureActions actions) =>
        {
            if (!StandInAction.Names.Contains(action))
            {
                return Results.NotFound($"unknown action '{action}'; known: {string.Join(", ", StandInAction.Names)}\n");
            }

            var done = actions.Run(new StandInAction(action, arg));
            return done is null
                ? Results.BadRequest($"bad argument '{arg}' for {action}\n")
                : Results.Text(done + "\n", statusCode: StatusCodes.Status202Accepted);
        });
    }
}

/// <param name="GpuBytes">The worker's memory on the pretend GPU (0 without a footprint table, or before its first load).</param>
/// <param name="Loaded">The components loaded, as "model/type".</param>
public sealed record StandInStatus(int Pid, bool PingFails, string? StuckError, int PredictDelayMs, int PredictCount, long GpuBytes,
    IReadOnlyList<string> Loaded);
