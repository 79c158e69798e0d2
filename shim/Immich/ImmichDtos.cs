using System.Text.Json;
using System.Text.Json.Serialization;

namespace GpuSplit.Shim.Immich;

// The shapes of @immich/sdk 3.2.2 (build/fetch-client.d.ts), the client Immich publishes for its own API:
//   QueueResponseDto       { isPaused: boolean; name: QueueName; statistics: QueueStatisticsDto }
//   QueueStatisticsDto     { active; completed; delayed; failed; paused; waiting: number }
//   QueueUpdateDto         { isPaused?: boolean }
//   QueueCommandDto        { command: QueueCommand ("start" | "pause" | "resume" | "empty" | "clear-failed"); force?: boolean }
//   QueueResponseLegacyDto { jobCounts: QueueStatisticsDto; queueStatus: { isActive: boolean; isPaused: boolean } }
// and its endpoints (build/fetch-client.js, baseUrl "/api", header x-api-key set by setApiKey in build/index.js):
//   getQueues             GET /queues           -> QueueResponseDto[]
//   updateQueue           PUT /queues/{name}    QueueUpdateDto -> QueueResponseDto
//   runQueueCommandLegacy PUT /jobs/{name}      QueueCommandDto -> QueueResponseLegacyDto

public sealed record QueueStatistics(long Active, long Completed, long Delayed, long Failed, long Paused, long Waiting);

public sealed record QueueResponse(string Name, bool IsPaused, QueueStatistics Statistics);

public sealed record QueueUpdate(bool IsPaused);

public sealed record QueueCommand(string Command, bool Force)
{
    /// <summary>The admin page's "Missing" button: queue the assets that still lack this queue's result.</summary>
    public static readonly QueueCommand StartMissing = new("start", false);
}

public sealed record QueueStatusLegacy(bool IsActive, bool IsPaused);

public sealed record QueueResponseLegacy(QueueStatistics JobCounts, QueueStatusLegacy QueueStatus);

[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(QueueResponse[]))]
[JsonSerializable(typeof(QueueResponse))]
[JsonSerializable(typeof(QueueUpdate))]
[JsonSerializable(typeof(QueueCommand))]
[JsonSerializable(typeof(QueueResponseLegacy))]
public sealed partial class ImmichJsonContext : JsonSerializerContext;
