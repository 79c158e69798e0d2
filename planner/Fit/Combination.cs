using GpuSplit.Planner.Catalog;

namespace GpuSplit.Planner.Fit;

/// <summary>What one Immich ML service would load: a CLIP model, a face model, and an OCR model or none.</summary>
public sealed record Combination(CatalogModel Clip, CatalogModel Face, CatalogModel? Ocr)
{
    public IEnumerable<CatalogModel> Models => Ocr is null ? [Clip, Face] : [Clip, Face, Ocr];

    public override string ToString() => $"{Clip.Name} + {Face.Name} + {Ocr?.Name ?? "no OCR"}";
}
