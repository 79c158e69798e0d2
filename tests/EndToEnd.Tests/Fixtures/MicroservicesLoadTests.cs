using GpuSplit.Planner.Service;
using GpuSplit.Planner.Memory;
using GpuSplit.Testing;
using GpuSplit.Testing.GpuBox;
using GpuSplit.Testing.Immich;
using GpuSplit.Testing.Nginx;

namespace GpuSplit.EndToEnd.Tests.Fixtures;

/// <summary>The load driver counts like Immich's job service: a failed ML call drops the job, once, for good.</summary>
public sealed class MicroservicesLoadTests
{
    [Fact]
    public async Task Through_nginx_to_a_sleeping_box_every_job_is_dropped_once_after_the_connect_timeout_and_never_retried()
    {
        RequiredPart.Require(File.Exists("/usr/bin/busybox"), "busybox (a process on the box)");
        var ct = TestContext.Current.CancellationToken;
        await using var box = await GpuBoxHost.CreateAsync(cancellationToken: ct);
        await using var nginx = await SeedNginx.StartAsync(box.BoxAddress.ToString(), 3003, ct);
        await box.SleepAsync(ct);

        await using var load = new MicroservicesLoad(new LoadOptions(nginx.BaseUri)
        {
            Concurrency = JobConcurrency.ImmichDefaults,
            PreviewJpeg = PreviewJpeg.Encode(320, 240, 80, seed: 2),
        });
        load.AddAssets(2);
        Assert.True(await load.WaitUntilDrainedAsync(TimeSpan.FromSeconds(60), ct), $"{load.Pending} jobs still pending");

        var jobs = load.Jobs;
        Assert.Equal(6, jobs.Count);
        Assert.All(jobs, job => Assert.False(job.Completed));
        // 504: nginx's connect timeout; 502: the kernel's ARP gave up first (SeedNginx.NoRouteLine).
        Assert.All(jobs, job => Assert.Contains(job.Status, new int?[] { 502, 504 }));
        foreach (var kind in Enum.GetValues<JobKind>())
        {
            Assert.Equal([1, 2], jobs.Where(j => j.Kind == kind).Select(j => j.Asset).Order());
            Assert.Equal(2, load.Lost(kind));
            Assert.Equal(0, load.Completed(kind));
        }

        // Each job was a single request: nginx logged one failed connect per job, none retried.
        Assert.Equal(6, nginx.CountErrorLog(SeedNginx.ConnectTimeoutLine) + nginx.CountErrorLog(SeedNginx.NoRouteLine));
        Assert.Equal(0, load.Pending);
    }
}
