using GpuSplit.Shim.Power;
using Microsoft.Extensions.Logging.Abstractions;

namespace GpuSplit.Shim.Tests.Power;

/// <summary>The power ledger file: what a restarted shim reads back, and a file that cannot be written or read.</summary>
public sealed class PowerLedgerTests : IDisposable
{
    private static readonly TimeSpan HoldLimit = TimeSpan.FromSeconds(240);
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("gpusplit-ledger-");

    public void Dispose() => _folder.Delete(recursive: true);

    [Fact]
    public void Paused_queues_and_losses_survive_a_restart_and_leave_the_file_once_settled()
    {
        var path = Path.Combine(_folder.FullName, "state", "power.json");
        var clock = PolicyFixtures.Clock();
        // One ledger for both policies, as the shim's services share it.
        var ledger = new PowerLedger(path, NullLogger<PowerLedger>.Instance);
        var pause = new QueuePausePolicy(HoldLimit, clock, ledger);
        var missing = new MissingPolicy(ledger);
        var lostAt = clock.GetUtcNow();
        missing.RecordLoss("ocr", lostAt);
        var awaySince = clock.GetUtcNow();
        clock.Advance(HoldLimit);
        var paused = pause.Decide(new QueueInput(false, awaySince, PolicyFixtures.Backlog(smartSearch: 3)));
        pause.Confirm(paused.Action, paused.Queues);

        var restarted = new PowerLedger(path, NullLogger<PowerLedger>.Instance);
        var resume = new QueuePausePolicy(HoldLimit, clock, restarted).Decide(new QueueInput(true, null, PolicyFixtures.Backlog()));
        var again = new MissingPolicy(restarted);

        Assert.Equal(QueueAction.Resume, resume.Action);
        Assert.Equal(["smartSearch", "faceDetection", "ocr"], resume.Queues);
        Assert.Equal(new LostJobs(1, lostAt, lostAt), Assert.Single(again.Affected, a => a.Key == "ocr").Value);

        new QueuePausePolicy(HoldLimit, clock, restarted).Confirm(QueueAction.Resume, resume.Queues);
        again.Confirm("ocr", clock.GetUtcNow());
        var settled = new PowerLedger(path, NullLogger<PowerLedger>.Instance);
        Assert.Empty(settled.PausedByShim);
        Assert.Empty(settled.Lost);
    }

    [Fact]
    public void A_file_that_cannot_be_written_or_read_leaves_the_policies_working_from_memory()
    {
        // A regular file where the ledger's folder should be: neither the folder nor the file can be made.
        var blocker = Path.Combine(_folder.FullName, "not-a-folder");
        File.WriteAllText(blocker, "");
        var missing = new MissingPolicy(new PowerLedger(Path.Combine(blocker, "power.json"), NullLogger<PowerLedger>.Instance));
        var garbled = Path.Combine(_folder.FullName, "garbled.json");
        File.WriteAllText(garbled, "{ not json");

        missing.RecordLoss("smartSearch", DateTimeOffset.UnixEpoch);
        var fromGarbled = new PowerLedger(garbled, NullLogger<PowerLedger>.Instance);

        Assert.Equal(1, Assert.Single(missing.Affected).Value.Count);
        Assert.Empty(fromGarbled.PausedByShim);
        Assert.Empty(fromGarbled.Lost);
    }
}
