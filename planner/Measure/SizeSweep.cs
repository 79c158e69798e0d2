namespace GpuSplit.Planner.Measure;

/// <summary>
/// One component whose input varies (OCR detection) fed every size Immich sends, in one session, smallest first,
/// then every size once more: how the arena grows with each new size, and whether it keeps what it grew.
/// </summary>
/// <param name="Label">The component, as the cache names it.</param>
/// <param name="Axis">The input axis that varies (the catalog's <c>varies.axis</c>).</param>
/// <param name="BeforeLoadBytes">The process just before the session was created.</param>
/// <param name="AfterLoadBytes">The process right after the session was created.</param>
/// <param name="Steps">One per request, in the order sent.</param>
/// <param name="ModelKeptBytes">
/// What the memory model says the arena keeps after every size once: its ratchet term plus the largest request,
/// from this sweep's own largest request (so the check is of the ratchet's rule, not of the per-request figure).
/// </param>
public sealed record SizeSweep(string Label, int Axis, long BeforeLoadBytes, long AfterLoadBytes, IReadOnlyList<SizeStep> Steps, long ModelKeptBytes)
{
    /// <summary>What the arena kept after the first pass over every size: the ratchet plus the largest request.</summary>
    public long KeptAfterFirstPassBytes => LastAfter(1) - AfterLoadBytes;

    /// <summary>What the second pass over sizes already seen added: zero when the arena keeps a buffer per size.</summary>
    public long SecondPassGrowthBytes => LastAfter(2) - LastAfter(1);

    private long LastAfter(int pass) => Steps.Last(s => s.Pass == pass).AfterBytes;
}

/// <summary>One request of a sweep: the size of the varying axis, the process's peak during it and its memory after it.</summary>
/// <param name="Pass">1 for the first time this size is seen, 2 for the repeat.</param>
public sealed record SizeStep(int Pass, long Size, IReadOnlyList<PlannedInput> Inputs, long PeakBytes, long AfterBytes);
