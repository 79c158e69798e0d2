using System.Text.Json;
using System.Text.Json.Serialization;

namespace GpuSplit.Shim.Immich;

// Two versions of Immich's API, each as @immich/sdk states it (build/fetch-client.d.ts and fetch-client.js; baseUrl
// "/api", header x-api-key set by setApiKey in build/index.js).
//
// Both: getServerVersion  GET /server/version -> ServerVersionResponseDto { major; minor; patch: number } (3.2.2 adds
// prerelease: number | null), no authentication.
//
// @immich/sdk 3.2.2 (Immich 2.3.0 and later have the queues API; the /jobs calls are deprecated since 2.3.0):
//   QueueResponseDto       { isPaused: boolean; name: QueueName; statistics: QueueStatisticsDto }
//   QueueStatisticsDto     { active; completed; delayed; failed; paused; waiting: number }
//   QueueUpdateDto         { isPaused?: boolean }
//   QueueCommandDto        { command: QueueCommand ("start" | "pause" | "resume" | "empty" | "clear-failed"); force?: boolean }
//   QueueResponseLegacyDto { jobCounts: QueueStatisticsDto; queueStatus: { isActive: boolean; isPaused: boolean } }
//   getQueues             GET /queues           -> QueueResponseDto[]
//   updateQueue           PUT /queues/{name}    QueueUpdateDto -> QueueResponseDto
//   runQueueCommandLegacy PUT /jobs/{name}      QueueCommandDto -> QueueResponseLegacyDto
//
// @immich/sdk 1.135.3 (and 1.138.1, the newest 1.13x: the same calls and shapes; no queues API, no ocr queue):
//   JobCountsDto            { active; completed; delayed; failed; paused; waiting: number }
//   QueueStatusDto          { isActive: boolean; isPaused: boolean }
//   JobStatusDto            { jobCounts: JobCountsDto; queueStatus: QueueStatusDto }
//   AllJobStatusResponseDto { [JobName]: JobStatusDto } (15 queues: thumbnailGeneration ... backupDatabase)
//   JobCommandDto           { command: JobCommand ("start" | "pause" | "resume" | "empty" | "clear-failed"); force?: boolean }
//   getAllJobsStatus GET /jobs       -> AllJobStatusResponseDto
//   sendJobCommand   PUT /jobs/{id}  JobCommandDto -> JobStatusDto
// JobCountsDto, JobStatusDto and JobCommandDto have the fields of 3.2.2's QueueStatisticsDto, QueueResponseLegacyDto and
// QueueCommandDto, so one record serves each pair.

public sealed record QueueStatistics(long Active, long Completed, long Delayed, long Failed, long Paused, long Waiting);

public sealed record QueueResponse(string Name, bool IsPaused, QueueStatistics Statistics);

public sealed record QueueUpdate(bool IsPaused);

public sealed record QueueCommand(string Command, bool Force)
{
    /// <summary>The admin page's "Missing" button: queue the assets that still lack this queue's result.</summary>
    public static readonly QueueCommand StartMissing = new("start", false);

    public static readonly QueueCommand Pause = new("pause", false);

    public static readonly QueueCommand Resume = new("resume", false);
}

public sealed record QueueStatusLegacy(bool IsActive, bool IsPaused);

public sealed record QueueResponseLegacy(QueueStatistics JobCounts, QueueStatusLegacy QueueStatus)
{
    /// <summary>The same queue in the queues API's shape.</summary>
    public QueueResponse Named(string name) => new(name, QueueStatus.IsPaused, JobCounts);
}

/// <summary>The server's version; <c>prerelease</c> (3.2.2 and later) is not needed to pick an API.</summary>
public sealed record ServerVersion(int Major, int Minor, int Patch)
{
    /// <summary>Immich 2.3.0 added <c>/api/queues</c>.</summary>
    public bool HasQueuesApi => Major > 2 || (Major == 2 && Minor >= 3);

    public override string ToString() => $"{Major}.{Minor}.{Patch}";
}
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(QueueResponse[]))]
[JsonSerializable(typeof(QueueResponse))]
[JsonSerializable(typeof(QueueUpdate))]
[JsonSerializable(typeof(QueueCommand))]
[JsonSerializable(typeof(QueueResponseLegacy))]
[JsonSerializable(typeof(Dictionary<string, QueueResponseLegacy>))]
[JsonSerializable(typeof(ServerVersion))]
public sealed partial class ImmichJsonContext : JsonSerializerContext;
