using GpuSplit.Planner.Catalog;
using GpuSplit.Planner.Evidence;
using GpuSplit.Planner.Memory;

namespace GpuSplit.Planner.Fit;

/// <summary>Enumerates every combination the catalog allows, estimates and calibrates each, and picks the best that fits.</summary>
public static class FitPlanner
{
    public static FitResult Plan(FitRequest request)
    {
        var calibration = FitEvidence.Calibrate(request);
        var candidates = Combinations(request)
            .Select(combination => Evaluate(combination, request, calibration))
            .Order(QualityOrder.Instance)
            .ToList();
        var plan = candidates.FirstOrDefault(c => c.Usable);

        // A card that ran out of memory tells that its own size was too small, not what size would do.
        var sized = candidates.Where(c => c.Measured is not { Oom: true } && c.FailedOn is null).ToList();
        long? smallest = plan is not null || sized.Count == 0
            ? null
            : sized.Min(c => VerdictPolicy.SmallestBudgetThatFits(c.PeakBytes, request.HeadroomShare));
        return new FitResult(request, plan, candidates, smallest) { Calibration = calibration };
    }

    public static Candidate Evaluate(Combination combination, FitRequest request) => Evaluate(combination, request, FitEvidence.Calibrate(request));

    public static Candidate Evaluate(Combination combination, FitRequest request, Calibration calibration)
    {
        var loads = combination.Models.SelectMany(model => ComponentLoads.For(model, request.Gpu, request.Costs)).ToList();
        var estimate = MemoryModel.Estimate(loads, request.Concurrency, request.Workers, request.Costs);
        var estimated = VerdictPolicy.Classify(estimate.PeakBytes, request.BudgetBytes, request.HeadroomShare);
        var correction = calibration.CorrectionBytes(estimate);
        var calibrated = VerdictPolicy.Classify(estimate.PeakBytes + correction, request.BudgetBytes, request.HeadroomShare);
        var measured = request.MeasuredCombinations.Where(m => m.Applies(combination, request)).MaxBy(m => m.MeasuredAt);

        // Out of memory is what the card did, whatever budget the fit was given; a peak that held is judged like an
        // estimate, against the fit's budget and headroom, which need not be the card's whole memory.
        var verdict = measured switch
        {
            null => calibrated,
            { Oom: true } => Verdict.Oom,
            _ => VerdictPolicy.Classify(measured.PeakBytes, request.BudgetBytes, request.HeadroomShare),
        };

        // What failed on such a card at such a load fails again, whatever a figure says: an out-of-memory is oom, and
        // now-and-then is at best unstable.
        var failure = FitEvidence.Failure(combination, request);
        if (failure is not null)
        {
            verdict = (Verdict)Math.Min((int)verdict, (int)(failure.Record.Outcome == EvidenceOutcome.Oom ? Verdict.Oom : Verdict.Unstable));
        }

        return new Candidate(combination, estimate, verdict, request.BudgetBytes, estimated, measured, correction, calibrated, failure);
    }

    private static IEnumerable<Combination> Combinations(FitRequest request)
    {
        var catalog = request.Catalog;
        var clips = catalog.ForTask(ModelTask.Clip).Where(m => !request.Multilingual || m.Multilingual);
        var ocrs = catalog.ForTask(ModelTask.Ocr).Cast<CatalogModel?>().ToList();
        if (!request.RequireOcr)
        {
            ocrs.Add(null);
        }

        return from clip in clips
               from face in catalog.ForTask(ModelTask.FacialRecognition)
               from ocr in ocrs
               select new Combination(clip, face, ocr);
    }
}
