namespace GpuSplit.Planner.Evidence;

/// <summary>Where a field report reached the planner from.</summary>
public enum EvidenceOrigin
{
    /// <summary>Built into the planner: the seed story's attempts (evidence.json).</summary>
    Seed,

    /// <summary>A user's `fit --evidence FILE`.</summary>
    File,

    /// <summary>The GPU box's agent (`fit --agent URL`): its own out-of-memory restarts and workers that held.</summary>
    Agent,
}

/// <summary>A field report and where it came from (the file or the agent), so every output can say whose word it is.</summary>
/// <param name="From">The file's path, the agent's address, or "embedded evidence.json".</param>
public sealed record EvidenceEntry(EvidenceRecord Record, EvidenceOrigin Origin, string From);

public static class EvidenceNames
{
    public static string WireName(this EvidenceOrigin origin) => origin switch
    {
        EvidenceOrigin.Seed => "seed",
        EvidenceOrigin.File => "file",
        EvidenceOrigin.Agent => "agent",
        _ => throw new ArgumentOutOfRangeException(nameof(origin), origin, null),
    };

    public static string WireName(this EvidenceOutcome outcome) => outcome switch
    {
        EvidenceOutcome.Oom => "oom",
        EvidenceOutcome.Unstable => "unstable",
        EvidenceOutcome.Works => "works",
        EvidenceOutcome.Comfortable => "comfortable",
        _ => throw new ArgumentOutOfRangeException(nameof(outcome), outcome, null),
    };

    /// <summary>The card ran out of memory with it, at once or now and then.</summary>
    public static bool Failed(this EvidenceOutcome outcome) => outcome is EvidenceOutcome.Oom or EvidenceOutcome.Unstable;

    /// <summary>"CLIP + faces + OCR", the way `planner fit` names a combination.</summary>
    public static string Models(this EvidenceRecord record) =>
        $"{record.Clip} + {record.FacialRecognition ?? "no faces"} + {record.Ocr ?? "no OCR"}";
}
