using GpuSplit.Agent.Gpu;
using GpuSplit.Agent.Hosting;

namespace GpuSplit.Agent.Tests;

/// <summary>Which container a GPU process belongs to, from the cgroup files Docker writes; and the listen addresses.</summary>
public sealed class ContainerMappingTests
{
    private const string Id = "4f3c1a2b5d6e7f8091a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d5e6f708";

    [Theory]
    [InlineData("12:memory:/docker/" + Id + "\n11:cpu:/docker/" + Id + "\n0::/\n")]
    [InlineData("0::/system.slice/docker-" + Id + ".scope\n")]
    [InlineData("0::/docker/" + Id + "\n")]
    [InlineData("1:name=systemd:/kubepods/besteffort/pod1/" + Id + "\n")]
    public void A_container_process_maps_to_its_id(string cgroup) => Assert.Equal(Id, CgroupContainerIds.Parse(cgroup));

    [Theory]
    [InlineData("0::/user.slice/user-1000.slice/session-2.scope\n")]
    [InlineData("4:memory:/process_api/6b2ebe3d86692e4bb1c948740811358d\n0::/\n")]
    public void A_process_outside_containers_maps_to_none(string cgroup) => Assert.Null(CgroupContainerIds.Parse(cgroup));

    [Fact]
    public void A_real_container_process_on_this_machine_is_not_mistaken_for_the_test_process() =>
        Assert.Null(CgroupContainerIds.Read((uint)Environment.ProcessId));

    [Theory]
    [InlineData("http://0.0.0.0:3004", 3004)]
    [InlineData("http://*:3004", 3004)]
    [InlineData("http://127.0.0.1:4000;http://[::1]:4001", 4000)]
    public void Urls_parse(string urls, int firstPort) => Assert.Equal(firstPort, Listeners.Parse(urls, "--urls")[0].Port);

    [Theory]
    [InlineData("https://0.0.0.0:3004")]
    [InlineData("http://0.0.0.0")]
    [InlineData("http://0.0.0.0:3004/grpc")]
    [InlineData("3004")]
    public void Urls_the_agent_cannot_serve_are_one_line_errors(string urls)
    {
        var error = Assert.Throws<AgentConfigurationException>(() => Listeners.Parse(urls, "--urls"));
        Assert.DoesNotContain('\n', error.Message);
    }
}
