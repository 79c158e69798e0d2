using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using GpuSplit.Planner.Service;
using GpuSplit.Shim.Tests.Infrastructure;
using GpuSplit.Testing.Processes;

namespace GpuSplit.Shim.Tests;

/// <summary>A shim killed with jobs held (kill -9: no chance to answer them) counts them lost when it starts again.</summary>
public sealed partial class CrashSafetyTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Jobs_held_when_the_shim_is_killed_are_counted_lost_after_its_restart()
    {
        // Asleep: neither its agent nor its ML service answers, so every job is held (an answering ML would be forwarded to).
        await using var asleep = new AsleepBox();
        var ledger = Path.Combine(Path.GetTempPath(), "gpusplit-tests", $"crash-{Guid.NewGuid():N}.json");
        string[] args =
        [
            "--urls=http://127.0.0.1:0",
            $"--Shim:Power:LedgerFile={ledger}",
            $"--Shim:Upstreams:0:Url={asleep.Endpoints.Ml}",
            $"--Shim:Upstreams:0:Agent={asleep.Endpoints.Agent}",
        ];

        await using (var first = RunningProcess.Start(ShimProgram.StartInfo(args), "shim (first run)"))
        {
            using var client = ShimUnderTest.NewClient(await ListeningAsync(first));
            var jobs = new[] { JobKind.FaceDetection, JobKind.FaceDetection, JobKind.SmartSearch, JobKind.Ocr }
                .Select(kind => client.SendAsync(ImmichPredictRequest.Job(kind, PreviewJpeg.Small()), Ct))
                .ToArray();
            await Waiting.UntilAsync(() => client.GetFromJsonAsync<JsonElement>("/status.json", Ct), s => s.GetProperty("hold").GetProperty("held").GetInt32() == 4,
                TimeSpan.FromSeconds(30), "4 jobs held", cancellationToken: Ct);

            // RunningProcess kills with SIGKILL: the shim answers nothing and writes nothing more.
            await first.DisposeAsync();
            foreach (var job in jobs)
            {
                await Assert.ThrowsAnyAsync<HttpRequestException>(() => job);
            }
        }

        await using var second = RunningProcess.Start(ShimProgram.StartInfo(args), "shim (after the kill)");
        using var again = ShimUnderTest.NewClient(await ListeningAsync(second));
        var status = await Waiting.UntilAsync(() => again.GetFromJsonAsync<JsonElement>("/status.json", Ct),
            s => s.GetProperty("power").GetProperty("lost").GetArrayLength() == 3, TimeSpan.FromSeconds(30), "the lost jobs in the power loop's ledger",
            cancellationToken: Ct);

        Assert.Equal(4, status.GetProperty("totals").GetProperty("lost").GetInt64());
        var lost = status.GetProperty("power").GetProperty("lost").EnumerateArray()
            .ToDictionary(l => l.GetProperty("queue").GetString()!, l => l.GetProperty("count").GetInt32());
        Assert.Equal(new Dictionary<string, int> { ["faceDetection"] = 2, ["smartSearch"] = 1, ["ocr"] = 1 }, lost);
        var metrics = await again.GetStringAsync("/metrics", Ct);
        Assert.Contains("""shim_lost_jobs_total{kind="face-detection",reason="shim-restart"} 2""", metrics, StringComparison.Ordinal);
    }

    private static async Task<Uri> ListeningAsync(RunningProcess shim)
    {
        await shim.WaitForOutputAsync("Now listening on: ", TimeSpan.FromSeconds(60), Ct);
        return new Uri(ListeningOn().Match(shim.Output).Groups[1].Value);
    }

    [GeneratedRegex(@"Now listening on: (http://\S+)")]
    private static partial Regex ListeningOn();
}
