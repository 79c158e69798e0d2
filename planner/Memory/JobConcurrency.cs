using System.Globalization;

namespace GpuSplit.Planner.Memory;

/// <summary>
/// How many requests of each Immich job run at once against the ML service (Immich's `job.&lt;queue&gt;.concurrency`).
/// A search query is not a queue: the user waits for it, one at a time.
/// </summary>
public sealed record JobConcurrency(int SmartSearch, int FaceDetection, int Ocr)
{
    /// <summary>The seed story's calibrated values, and what the planner assumes unless told otherwise.</summary>
    public static JobConcurrency Seed { get; } = new(3, 3, 1);

    /// <summary>Immich's own defaults (server/src/config.ts).</summary>
    public static JobConcurrency ImmichDefaults { get; } = new(2, 2, 1);

    public const int SearchQueries = 1;

    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"smart-search={SmartSearch},face-detection={FaceDetection},ocr={Ocr}");

    /// <summary>Parses "smart-search=3,face-detection=3,ocr=1"; names left out keep <paramref name="defaults"/>.</summary>
    public static bool TryParse(string? text, JobConcurrency defaults, out JobConcurrency result, out string error)
    {
        result = defaults;
        error = string.Empty;
        foreach (var part in (text ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var pair = part.Split('=', 2, StringSplitOptions.TrimEntries);
            if (pair.Length != 2 || !int.TryParse(pair[1], NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value < 1 || value > 64)
            {
                error = $"'{part}' is not a job concurrency; write it like smart-search=3 (1 to 64)";
                return false;
            }

            switch (pair[0])
            {
                case "smart-search":
                    result = result with { SmartSearch = value };
                    break;
                case "face-detection":
                    result = result with { FaceDetection = value };
                    break;
                case "ocr":
                    result = result with { Ocr = value };
                    break;
                default:
                    error = $"unknown job '{pair[0]}' in --concurrency; the jobs are smart-search, face-detection and ocr";
                    return false;
            }
        }

        return true;
    }
}
