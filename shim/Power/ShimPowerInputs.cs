using GpuSplit.Shim.Admission;
using GpuSplit.Shim.Upstreams;

namespace GpuSplit.Shim.Power;

/// <summary>
/// The power loop's view of the proxy: the boxes as their agents describe them (or, with an agent away, as the ML service's
/// ping does: awake and serving), the held jobs, the last work.
/// </summary>
public sealed class ShimPowerInputs(UpstreamRegistry upstreams, HoldQueue holds, PowerSignals signals) : IPowerInputs
{
    public IReadOnlyList<BoxState> Boxes =>
        [.. upstreams.All.Select((u, i) =>
        {
            var health = u.Health;
            return new BoxState(
                i,
                u.Name,
                u.Agent,
                // Checking the ML service is not knowing yet: like connecting, not an answer.
                Answering: health.State is not (HostStates.Asleep or HostStates.Connecting or HostStates.CheckingMl),
                Serving: health.Condition == UpstreamCondition.Serving,
                GoingToSleep: u.Status?.Power?.GoingToSleep == true,
                u.InFlight)
            {
                Token = u.Token,
                AgentAnswering = !u.AgentAway,
            };
        })];

    public int HeldJobs => holds.Count;

    public DateTimeOffset? LastWorkAt => signals.LastWorkAt;
}
