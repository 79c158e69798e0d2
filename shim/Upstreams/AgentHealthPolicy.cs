using GpuSplit.Protos.V1;
using Grpc.Health.V1;

namespace GpuSplit.Shim.Upstreams;

/// <summary>
/// Serving when the status stream says so, or the health stream while no status stream is open. An agent that does
/// not answer is not the last word: the ML service answering its own <c>/ping</c> means the agent alone is away
/// (crashed, upgrading, blocked), and work goes to the ML service as it would without the shim. Neither answering
/// means the box is asleep or off (a transient absence worth waiting for); an unsupported card or a crash-looping
/// worker is lasting trouble that waiting cannot fix.
/// </summary>
public sealed class AgentHealthPolicy : IUpstreamHealthPolicy
{
    public (UpstreamCondition Condition, string State, string Reason) Assess(AgentView view)
    {
        if (!view.Answering)
        {
            return view switch
            {
                { LastError: null } => (UpstreamCondition.Transient, HostStates.Connecting, "waiting for the agent's first answer"),
                // Not asleep: the work forwarded before the agent went quiet goes on while the ML service is asked.
                { Ml: null } => (UpstreamCondition.Transient, HostStates.CheckingMl, $"its agent does not answer ({view.LastError}); asking its ML service"),
                { Ml.Answering: true } => (UpstreamCondition.Serving, HostStates.AgentUnreachable,
                    $"agent unreachable, ML answering: forwarding without the GPU's view (agent: {view.LastError})"),
                _ => (UpstreamCondition.Transient, HostStates.Asleep,
                    $"its agent does not answer: asleep, off or unreachable ({view.LastError}); nor does its ML service ({view.Ml.Detail})"),
            };
        }

        // Leaving on purpose (an accepted Sleep): work waits for it, and the power loop wakes it again when needed.
        if (view.Status?.Power?.GoingToSleep == true)
        {
            return (UpstreamCondition.Transient, HostStates.GoingToSleep, ReasonOr(view, "going to sleep on purpose"));
        }

        var worker = view.Status?.Worker;
        switch (worker?.State)
        {
            case WorkerState.GpuUnsupported:
                return (UpstreamCondition.Lasting, HostStates.Unsupported, ReasonOr(view, "the ML image cannot run on this GPU"));
            case WorkerState.CrashLooping:
                return (UpstreamCondition.Lasting, HostStates.CrashLooping, ReasonOr(view, "the ML worker keeps crashing; the agent has stopped restarting it for now"));
        }

        // The status stream, while open, decides: it says why, and the agent sends it on every change. Health decides
        // only for an agent without one. Both come from one state of the agent, but over two streams their messages
        // arrive in either order: asking both to agree showed each change twice, the first time without its reason.
        var serving = view.Status?.Serving ?? view.Health == HealthCheckResponse.Types.ServingStatus.Serving;
        if (serving)
        {
            return (UpstreamCondition.Serving, HostStates.Online, "serving");
        }

        var state = worker?.State switch
        {
            WorkerState.Starting => HostStates.Starting,
            WorkerState.Restarting => HostStates.Restarting,
            WorkerState.Stopped => HostStates.WorkerStopped,
            WorkerState.Missing => HostStates.WorkerMissing,
            WorkerState.DockerUnavailable => HostStates.DockerUnavailable,
            _ => HostStates.NotServing,
        };
        return (UpstreamCondition.Transient, state, ReasonOr(view, "the agent reports the ML service is not serving"));
    }

    private static string ReasonOr(AgentView view, string fallback) =>
        string.IsNullOrWhiteSpace(view.Status?.NotServingReason) ? fallback : view.Status.NotServingReason;
}
