using GpuSplit.Planner.Catalog;
using GpuSplit.Planner.Evidence;
using GpuSplit.Planner.Memory;
using GpuSplit.Protos.V1;

namespace GpuSplit.Planner.Agent;

/// <summary>
/// The agent's field evidence as <see cref="EvidenceRecord"/>s. The agent knows model components only as Immich's log
/// names them (<c>Loading detection model 'buffalo_l'</c>), so the catalog says which task a model serves; a visual or
/// textual component is CLIP's even when the catalog does not know the model. A record the shape cannot hold is left
/// out: one naming a face or OCR model the catalog does not know, two models of one task (the operator switched models
/// while the worker ran), or no CLIP model (the shape names one). The card's memory is given in whole MiB; the job
/// concurrency stays unknown (null) unless the agent's operator configured it.
/// </summary>
public static class AgentEvidence
{
    private const ulong MiB = 1024 * 1024;

    public static IReadOnlyList<EvidenceRecord> ToRecords(ObservedEvidence evidence, ModelCatalog catalog) =>
        [.. evidence.Records.Select(r => ToRecord(r, catalog)).OfType<EvidenceRecord>()];

    /// <summary>The record, or null when its shape cannot hold what the agent saw.</summary>
    public static EvidenceRecord? ToRecord(ObservedOutcome observed, ModelCatalog catalog)
    {
        EvidenceOutcome? outcome = observed.Outcome switch
        {
            FieldOutcome.Oom => EvidenceOutcome.Oom,
            FieldOutcome.Works => EvidenceOutcome.Works,
            FieldOutcome.Comfortable => EvidenceOutcome.Comfortable,
            _ => null,
        };
        var models = new Dictionary<ModelTask, string>();
        foreach (var component in observed.Components)
        {
            var known = catalog.Find(component.Model);
            ModelTask? task = known?.Task ?? (component.Type is "visual" or "textual" ? ModelTask.Clip : null);
            var name = known?.Name ?? component.Model;
            if (task is not { } t || (models.TryGetValue(t, out var other) && other != name))
            {
                return null;
            }

            models[t] = name;
        }

        if (outcome is not { } result || !models.TryGetValue(ModelTask.Clip, out var clip))
        {
            return null;
        }

        var concurrency = observed.Concurrency is { } c ? new JobConcurrency((int)c.SmartSearch, (int)c.FaceDetection, (int)c.Ocr) : null;
        return new EvidenceRecord(observed.Gpu, (long)(observed.VramBytes / MiB), (int)Math.Max(1, observed.Workers), concurrency, clip,
            models.GetValueOrDefault(ModelTask.FacialRecognition), models.GetValueOrDefault(ModelTask.Ocr), result, observed.Source);
    }
}
