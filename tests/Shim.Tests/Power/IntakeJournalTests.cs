using GpuSplit.Shim.Classification;
using GpuSplit.Shim.Power;
using GpuSplit.Shim.Status;
using GpuSplit.Testing.Processes;
using Microsoft.Extensions.Logging.Abstractions;

namespace GpuSplit.Shim.Tests.Power;

/// <summary>The intake file stays bounded however many jobs pass, and still names the jobs that are open.</summary>
public sealed class IntakeJournalTests : IDisposable
{
    private readonly DirectoryInfo _folder = Directory.CreateTempSubdirectory("gpusplit-intake-");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _folder.Delete(recursive: true);

    [Fact]
    public async Task Sixty_thousand_answered_jobs_leave_a_small_file_that_still_knows_the_open_ones()
    {
        var ledger = Path.Combine(_folder.FullName, "power.json");
        var intake = Path.ChangeExtension(ledger, ".intake");
        using var first = new IntakeJournal(ledger, Journal(), NullLogger<IntakeJournal>.Instance);
        await first.StartAsync(Ct);
        first.TakeIn(MlRequestKind.FaceDetection);
        first.TakeIn(MlRequestKind.Ocr);
        // Written without compaction, these lines alone would be about 1.7 MB.
        for (var i = 0; i < 60_000; i++)
        {
            first.Answered(first.TakeIn(MlRequestKind.SmartSearch));
        }

        var last = first.TakeIn(MlRequestKind.SmartSearch);
        await Waiting.UntilAsync(() => Task.FromResult(File.Exists(intake) ? File.ReadAllText(intake) : ""),
            text => text.Contains($"+{last} smart-search\n", StringComparison.Ordinal) && text.Length <= IntakeJournal.CompactAboveBytes,
            TimeSpan.FromSeconds(60), "the last job written and the file compacted", cancellationToken: Ct);

        // Not stopped (a graceful stop empties the file): the next journal reads it as a shim restarted after a kill.
        var restarted = Journal();
        using var second = new IntakeJournal(ledger, restarted, NullLogger<IntakeJournal>.Instance);
        await second.StartAsync(Ct);

        Assert.Equal(3, restarted.Totals.Lost);
        await second.StopAsync(Ct);
        await first.StopAsync(Ct);
    }

    private static ShimJournal Journal() =>
        new(new ShimMetrics(), [], new RepeatedEventLog(TimeProvider.System, NullLogger<RepeatedEventLog>.Instance), TimeProvider.System, NullLogger<ShimJournal>.Instance);
}
