namespace GpuSplit.MlStandIn.Control;

/// <summary>
/// The control API under <c>/_standin/</c>: <c>POST /_standin/{action}?arg=...</c> performs one
/// <see cref="StandInAction"/>; <c>GET /_standin/state</c> shows what is switched on. Not part of Immich's API.
/// </summary>
public static class ControlEndpoints
{
    public static void Map(WebApplication app)
    {
        app.MapGet("/_standin/state", (StandInState state) => Results.Json(new StandInStatus(
            Environment.ProcessId, state.PingFails, state.StuckError, (int)state.PredictDelay.TotalMilliseconds, state.PredictCount)));

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

public sealed record StandInStatus(int Pid, bool PingFails, string? StuckError, int PredictDelayMs, int PredictCount);
