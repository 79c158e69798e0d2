using GpuSplit.Protos.V1;
using GpuSplit.Shim.Tests.Infrastructure;
using GpuSplit.Shim.Upstreams;
using Grpc.Health.V1;
using Serving = Grpc.Health.V1.HealthCheckResponse.Types.ServingStatus;

namespace GpuSplit.Shim.Tests.Units;

public sealed class AgentHealthPolicyTests
{
    private static readonly AgentHealthPolicy Policy = new();

    [Fact]
    public void Before_any_answer_the_box_is_connecting_and_with_neither_agent_nor_ml_answering_asleep_both_worth_waiting_for()
    {
        var connecting = Policy.Assess(AgentView.Initial);
        var asleep = Policy.Assess(AgentView.Initial with { LastError = "Connection refused", Ml = new MlPing(false, "Connection refused (ml)") });

        Assert.Equal((UpstreamCondition.Transient, HostStates.Connecting), (connecting.Condition, connecting.State));
        Assert.Equal((UpstreamCondition.Transient, HostStates.Asleep), (asleep.Condition, asleep.State));
        Assert.Contains("Connection refused", asleep.Reason, StringComparison.Ordinal);
        Assert.Contains("nor does its ML service (Connection refused (ml))", asleep.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void An_agent_that_does_not_answer_is_not_the_last_word_the_ml_service_answering_its_ping_takes_work()
    {
        var agentGone = AgentView.Initial with { LastError = "Connection refused" };

        var checking = Policy.Assess(agentGone);
        var mlAnswering = Policy.Assess(agentGone with { Ml = new MlPing(true, "gpu-box:3003 answered /ping") });

        Assert.Equal((UpstreamCondition.Transient, HostStates.CheckingMl), (checking.Condition, checking.State));
        Assert.Equal((UpstreamCondition.Serving, HostStates.AgentUnreachable), (mlAnswering.Condition, mlAnswering.State));
        Assert.Equal("agent unreachable, ML answering: forwarding without the GPU's view (agent: Connection refused)", mlAnswering.Reason);
        // An agent that answers speaks for the box, whatever an earlier ping found.
        var back = Policy.Assess(new AgentView(Serving.Serving, TestAgent.Status(true, "", WorkerState.Running, 1), null, new MlPing(true, "")));
        Assert.Equal((UpstreamCondition.Serving, HostStates.Online), (back.Condition, back.State));
    }

    [Fact]
    public void The_status_stream_decides_while_open_and_health_only_without_it()
    {
        var serving = TestAgent.Status(true, "", WorkerState.Running, 1);
        var restarting = TestAgent.Status(false, "worker restarting after CUDA out of memory", WorkerState.Restarting, 0);

        Assert.Equal(UpstreamCondition.Serving, Policy.Assess(new AgentView(Serving.Serving, serving, null)).Condition);
        Assert.Equal(UpstreamCondition.Serving, Policy.Assess(new AgentView(Serving.Serving, null, null)).Condition);
        Assert.Equal(UpstreamCondition.Serving, Policy.Assess(new AgentView(null, serving, null)).Condition);
        // Health's word, a moment ahead of the status stream's, is not a change of its own.
        Assert.Equal(UpstreamCondition.Serving, Policy.Assess(new AgentView(Serving.NotServing, serving, null)).Condition);
        var status = Policy.Assess(new AgentView(Serving.Serving, restarting, null));
        Assert.Equal((UpstreamCondition.Transient, HostStates.Restarting, "worker restarting after CUDA out of memory"), status);
        var healthAlone = Policy.Assess(new AgentView(Serving.NotServing, null, null));
        Assert.Equal((UpstreamCondition.Transient, HostStates.NotServing), (healthAlone.Condition, healthAlone.State));
        var unknown = Policy.Assess(new AgentView(Serving.ServiceUnknown, null, null));
        Assert.Equal(UpstreamCondition.Transient, unknown.Condition);
    }

    [Theory]
    [InlineData(WorkerState.GpuUnsupported, UpstreamCondition.Lasting, HostStates.Unsupported)]
    [InlineData(WorkerState.CrashLooping, UpstreamCondition.Lasting, HostStates.CrashLooping)]
    [InlineData(WorkerState.Starting, UpstreamCondition.Transient, HostStates.Starting)]
    [InlineData(WorkerState.Restarting, UpstreamCondition.Transient, HostStates.Restarting)]
    [InlineData(WorkerState.Stopped, UpstreamCondition.Transient, HostStates.WorkerStopped)]
    [InlineData(WorkerState.Missing, UpstreamCondition.Transient, HostStates.WorkerMissing)]
    [InlineData(WorkerState.DockerUnavailable, UpstreamCondition.Transient, HostStates.DockerUnavailable)]
    [InlineData(WorkerState.Running, UpstreamCondition.Transient, HostStates.NotServing)]
    public void The_worker_state_names_the_trouble(WorkerState worker, UpstreamCondition condition, string state)
    {
        var view = new AgentView(HealthCheckResponse.Types.ServingStatus.NotServing, TestAgent.Status(false, "", worker, 0), null);

        var assessed = Policy.Assess(view);

        Assert.Equal((condition, state), (assessed.Condition, assessed.State));
        Assert.False(string.IsNullOrWhiteSpace(assessed.Reason));
    }
}
