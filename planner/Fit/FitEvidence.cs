using GpuSplit.Planner.Catalog;
using GpuSplit.Planner.Evidence;
using GpuSplit.Planner.Memory;
using GpuSplit.Planner.Units;

namespace GpuSplit.Planner.Fit;

/// <summary>What the field reports given to a fit tell it: the calibration of every estimate, and the combinations that ran out on such a card.</summary>
public static class FitEvidence
{
    public static Calibration Calibrate(FitRequest request) =>
        CalibrationSolver.Solve([.. request.Evidence.Select(entry => Bound(entry, request))]);

    /// <summary>The record's combination estimated the way the fit estimates its own, at the record's workers and concurrency.</summary>
    public static EvidenceBound Bound(EvidenceEntry entry, FitRequest request)
    {
        var record = entry.Record;
        var concurrency = record.Concurrency ?? request.Concurrency;
        var models = new List<CatalogModel>();
        foreach (var (name, task) in new[] { (record.Clip, ModelTask.Clip), (record.FacialRecognition, ModelTask.FacialRecognition), (record.Ocr, ModelTask.Ocr) })
        {
            if (name is null)
            {
                continue;
            }

            var model = request.Catalog.Find(name);
            if (model is null || model.Task != task)
            {
                return new EvidenceBound(entry, concurrency, 0, 0, model is null
                    ? $"the catalog has no model '{name}'"
                    : $"'{name}' is not a {task.WireName()} model");
            }

            models.Add(model);
        }

        var loads = models.SelectMany(model => ComponentLoads.For(model, request.Gpu, request.Costs)).ToList();
        var estimate = MemoryModel.Estimate(loads, concurrency, record.Workers, request.Costs);
        return new EvidenceBound(entry, concurrency, estimate.PeakBytes, Calibration.UnboundedBytes(estimate));
    }

    /// <summary>
    /// The worst failure a record saw with exactly these models on a card no larger than the fit's budget allows, at
    /// the same or a lighter load than the fit plans (a record that does not know its concurrency counts as the fit's): on this
    /// card, at this load, it fails again whatever the estimate.
    /// </summary>
    public static EvidenceEntry? Failure(Combination combination, FitRequest request) => request.Evidence
        .Where(entry => entry.Record is var record
            && record.Outcome.Failed()
            && CalibrationSolver.SameModels(record, combination.Clip.Name, combination.Face.Name, combination.Ocr?.Name)
            && record.VramMiB * ByteSize.MiB >= request.BudgetBytes
            && CalibrationSolver.AtMost(record.Workers, record.Concurrency ?? request.Concurrency, request.Workers, request.Concurrency))
        .OrderBy(entry => entry.Record.Outcome)
        .FirstOrDefault();
}
