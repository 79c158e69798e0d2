using GpuSplit.Planner.Agent;
using GpuSplit.Planner.Catalog;
using GpuSplit.Planner.Evidence;
using GpuSplit.Planner.Memory;
using GpuSplit.Protos.V1;

namespace GpuSplit.Planner.Tests.Agent;

/// <summary>The agent's records, named by components as Immich's log names them, become the planner's records through the catalog.</summary>
public sealed class AgentEvidenceConversionTests
{
    private static readonly ModelCatalog Catalog = CatalogReader.LoadEmbedded();

    [Fact]
    public void The_catalog_tells_a_face_model_from_an_ocr_model_and_the_card_is_in_whole_mib()
    {
        var record = AgentEvidence.ToRecord(Outcome(FieldOutcome.Oom, "ViT-B-32__openai/visual", "buffalo_l/detection", "buffalo_l/recognition",
            "PP-OCRv5_mobile/detection"), Catalog);

        Assert.Equal(new EvidenceRecord("NVIDIA GeForce GTX 1060 6GB", 6144, 2, null, "ViT-B-32__openai", "buffalo_l", "PP-OCRv5_mobile",
            EvidenceOutcome.Oom, "agent box: CUDA out-of-memory restart at 2026-12-04 13:00:00Z"), record);
    }

    [Fact]
    public void A_configured_concurrency_is_kept_and_an_unknown_clip_model_is_clip_by_its_components()
    {
        var observed = Outcome(FieldOutcome.Comfortable, "some-new-clip/textual");
        observed.Concurrency = new ObservedConcurrency { SmartSearch = 2, FaceDetection = 2, Ocr = 1 };

        var record = AgentEvidence.ToRecord(observed, Catalog);

        Assert.Equal(("some-new-clip", new JobConcurrency(2, 2, 1), EvidenceOutcome.Comfortable), (record?.Clip, record?.Concurrency, record?.Outcome));
    }

    [Theory]
    [InlineData("buffalo_l/detection")]
    [InlineData("ViT-B-32__openai/visual", "unknown_faces/detection")]
    [InlineData("ViT-B-32__openai/visual", "ViT-B-16__openai/visual")]
    public void A_record_the_shape_cannot_hold_is_left_out(params string[] components) =>
        Assert.Empty(AgentEvidence.ToRecords(new ObservedEvidence { Records = { Outcome(FieldOutcome.Oom, components) } }, Catalog));

    private static ObservedOutcome Outcome(FieldOutcome outcome, params string[] components)
    {
        var observed = new ObservedOutcome
        {
            Gpu = "NVIDIA GeForce GTX 1060 6GB",
            VramBytes = 6144UL * 1024 * 1024,
            Workers = 2,
            Outcome = outcome,
            Source = "agent box: CUDA out-of-memory restart at 2026-12-04 13:00:00Z",
        };
        observed.Components.AddRange(components.Select(c => c.Split('/')).Select(c => new ModelComponent { Model = c[0], Type = c[1] }));
        return observed;
    }
}
