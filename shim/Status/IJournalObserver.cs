using GpuSplit.Shim.Classification;

namespace GpuSplit.Shim.Status;

/// <summary>Hears what the journal records about ML requests (the power loop: work seen, jobs held and lost).</summary>
public interface IJournalObserver
{
    /// <summary>An ML request was forwarded, held or refused.</summary>
    void RequestSeen(MlRequestKind kind);

    void JobHeld(MlRequestKind kind);

    /// <summary>A background job was answered with an error: Immich drops it.</summary>
    void JobLost(MlRequestKind kind);
}
