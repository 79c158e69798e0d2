using GpuSplit.Planner.Catalog;
using GpuSplit.Planner.Memory;

namespace GpuSplit.Planner.Fit;

/// <summary>Enumerates every combination the catalog allows, estimates each, and picks the best that fits.</summary>
public static class FitPlanner
{
    public static FitResult Plan(FitRequest request)
    {
        var candidates = Combinations(request)
            .Select(combination => Evaluate(combination, request))
            .Order(QualityOrder.Instance)
            .ToList();
        var plan = candidates.FirstOrDefault(c => c.Usable);
        long? smallest = plan is not null || candidates.Count == 0
            ? null
            : candidates.Min(c => VerdictPolicy.SmallestBudgetThatFits(c.PeakBytes, request.HeadroomShare));
        return new FitResult(request, plan, candidates, smallest);
    }

    public static Candidate Evaluate(Combination combination, FitRequest request)
    {
        var loads = combination.Models.SelectMany(model => ComponentLoads.For(model, request.Gpu, request.Costs)).ToList();
        var estimate = MemoryModel.Estimate(loads, request.Concurrency, request.Workers, request.Costs);
        var verdict = VerdictPolicy.Classify(estimate.PeakBytes, request.BudgetBytes, request.HeadroomShare);
        return new Candidate(combination, estimate, verdict, request.BudgetBytes);
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
