using GpuSplit.Planner.Catalog;
using GpuSplit.Planner.Measure;

namespace GpuSplit.Planner.Tests.Measure;

/// <summary>Matching cache folders to the embedded catalog, and --only.</summary>
public sealed class CatalogMatchTests
{
    private static readonly ModelCatalog Catalog = CatalogReader.LoadEmbedded();

    private static readonly CacheScan Scan = new(
        [
            new("ocr", "PP-OCRv5_mobile", null, "detection", "/cache/ocr/PP-OCRv5_mobile/detection/model.onnx"),
            new("ocr", "PP-OCRv5_mobile", null, "recognition", "/cache/ocr/PP-OCRv5_mobile/recognition/model.onnx"),
            new("clip", "ViT-B-32__openai", null, "visual", "/cache/clip/ViT-B-32__openai/visual/model.onnx"),
            new("clip", "my-finetune", null, "visual", "/cache/clip/my-finetune/visual/model.onnx"),
            new("ocr", "buffalo_l", null, "detection", "/cache/ocr/buffalo_l/detection/model.onnx"),
        ],
        []);

    [Fact]
    public void Catalog_models_are_matched_with_their_input_and_the_rest_skipped_with_a_warning()
    {
        var plan = CatalogMatch.Match(Scan, Catalog, only: null);

        Assert.Equal(["ocr/PP-OCRv5_mobile/detection", "ocr/PP-OCRv5_mobile/recognition", "clip/ViT-B-32__openai/visual"], plan.Targets.Select(t => t.Label));
        Assert.Equal([6, 3, 48, 320], plan.Targets[1].Component.Input!.Shape);
        Assert.Equal(
            [
                "clip/my-finetune/visual: 'my-finetune' is not a catalog model of task clip; skipped",
                // A catalog name under the wrong task is not that model.
                "ocr/buffalo_l/detection: 'buffalo_l' is not a catalog model of task ocr; skipped",
            ],
            plan.Warnings);
        Assert.Empty(plan.Failures);
    }

    [Fact]
    public void Only_selects_models_or_components_and_names_what_it_cannot_find()
    {
        var plan = CatalogMatch.Match(Scan, Catalog, ["pp-ocrv5_mobile/recognition", "ViT-B-32__openai", "my-finetune", "ViT-L-14__openai"]);

        Assert.Equal(["ocr/PP-OCRv5_mobile/recognition", "clip/ViT-B-32__openai/visual"], plan.Targets.Select(t => t.Label));
        Assert.Equal(["my-finetune", "ViT-L-14__openai"], plan.Failures.Select(f => f.Label));
        Assert.Equal("--only my-finetune: clip/my-finetune/visual: 'my-finetune' is not a catalog model of task clip", plan.Failures[0].Message);
        Assert.Equal("--only ViT-L-14__openai: no such model in the cache (found: PP-OCRv5_mobile, ViT-B-32__openai)", plan.Failures[1].Message);
    }
}
