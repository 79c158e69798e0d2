using GpuSplit.Agent.Power;
using GpuSplit.Protos.V1;
using Microsoft.Extensions.Options;

namespace GpuSplit.Agent.Tests.Power;

public sealed class SleepRefusalPolicyTests
{
    private const ulong MiB = 1024UL * 1024;
    private static readonly GpuProcessUse Worker = new(1200, 1800 * MiB, IsWorker: true, "immich_machine_learning");

    [Fact]
    public void An_idle_card_with_only_the_worker_on_it_may_sleep()
    {
        var verdict = Policy().Refuse(new SleepCheck(null, [new GpuUse(0, UtilizationPercent: 0, [Worker])], WorkerRestarting: false));

        Assert.Null(verdict);
    }

    [Fact]
    public void A_game_on_the_card_refuses_the_sleep()
    {
        var game = new GpuProcessUse(4242, 3500 * MiB, IsWorker: false, null);

        var verdict = Policy().Refuse(new SleepCheck(null, [new GpuUse(0, 0, [Worker, game])], false));

        Assert.Equal(new SleepVerdict(SleepRefusal.GpuInUse, "another process uses the GPU: pid 4242 with 3500 MiB on GPU 0"), verdict);
    }

    [Fact]
    public void Another_container_on_the_second_card_is_named()
    {
        var other = new GpuProcessUse(77, 512 * MiB, IsWorker: false, "jellyfin");

        var verdict = Policy().Refuse(new SleepCheck(null, [new GpuUse(0, 0, [Worker]), new GpuUse(1, 0, [other])], false));

        Assert.Equal("another process uses the GPU: pid 77 (jellyfin) with 512 MiB on GPU 1", verdict?.Message);
    }

    [Theory]
    [InlineData(9u, null)]
    [InlineData(10u, "GPU 0 is 10% busy (threshold 10%): work is in flight")]
    public void A_busy_worker_means_work_in_flight(uint utilization, string? message)
    {
        var verdict = Policy().Refuse(new SleepCheck(null, [new GpuUse(0, utilization, [Worker])], false));

        Assert.Equal(message, verdict?.Message);
        Assert.Equal(message is null ? null : SleepRefusal.WorkInFlight, verdict?.Refusal);
    }

    [Fact]
    public void A_worker_being_restarted_is_work_in_flight()
    {
        var verdict = Policy().Refuse(new SleepCheck(null, [new GpuUse(0, 0, [])], WorkerRestarting: true));

        Assert.Equal(new SleepVerdict(SleepRefusal.WorkInFlight, "the ML worker is being restarted"), verdict);
    }

    [Fact]
    public void An_unreadable_gpu_refuses_unless_allowed()
    {
        var check = new SleepCheck("no NVIDIA driver on this machine", [], false);

        var refused = Policy().Refuse(check);
        var allowed = Policy(o => o.AllowWithoutGpuReadings = true).Refuse(check);

        Assert.Equal(SleepRefusal.GpuUnreadable, refused?.Refusal);
        Assert.Equal(
            "the GPU cannot be read (no NVIDIA driver on this machine), so a game using it would not be seen (Agent__Sleep__AllowWithoutGpuReadings=true to sleep anyway)",
            refused?.Message);
        Assert.Null(allowed);
    }

    [Fact]
    public void Without_a_command_sleep_is_refused_whatever_the_card_does()
    {
        var verdict = new SleepRefusalPolicy(Options.Create(new SleepOptions())).Refuse(new SleepCheck(null, [new GpuUse(0, 0, [])], false));

        Assert.Equal(new SleepVerdict(SleepRefusal.NotConfigured, "no sleep command is configured on the agent (set Agent__Sleep__Command)"), verdict);
    }

    private static SleepRefusalPolicy Policy(Action<SleepOptions>? change = null)
    {
        var options = new SleepOptions { Command = "systemctl", Arguments = ["suspend"] };
        change?.Invoke(options);
        return new SleepRefusalPolicy(Options.Create(options));
    }
}
