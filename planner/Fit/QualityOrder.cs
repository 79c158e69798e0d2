using GpuSplit.Planner.Catalog;

namespace GpuSplit.Planner.Fit;

/// <summary>
/// Orders combinations from the one a self-hoster would want most to the one they would want least, memory aside:
/// a job that runs beats a job that is switched off (OCR on beats any CLIP upgrade, as in the seed story), then the
/// CLIP model's published recall, then the face model, then the OCR model; among equals, the roomier plan.
/// </summary>
public sealed class QualityOrder : IComparer<Candidate>
{
    public static QualityOrder Instance { get; } = new();

    public int Compare(Candidate? x, Candidate? y)
    {
        if (ReferenceEquals(x, y))
        {
            return 0;
        }

        if (x is null || y is null)
        {
            return x is null ? 1 : -1;
        }

        var a = x.Combination;
        var b = y.Combination;
        int result;
        if ((result = (b.Ocr is not null).CompareTo(a.Ocr is not null)) != 0
            || (result = Score(b.Clip).CompareTo(Score(a.Clip))) != 0
            || (result = Score(b.Face).CompareTo(Score(a.Face))) != 0
            || (result = Score(b.Ocr).CompareTo(Score(a.Ocr))) != 0
            || (result = y.Verdict.CompareTo(x.Verdict)) != 0)
        {
            return result;
        }

        return x.PeakBytes.CompareTo(y.PeakBytes);
    }

    /// <summary>
    /// The published quality figure where the catalog has one; otherwise the parameter count, which within one
    /// family (buffalo_s/m/l, PP-OCRv5 mobile/server) orders the models the way their authors rank them.
    /// </summary>
    private static (double Published, double Parameters) Score(CatalogModel? model) => model is null
        ? (double.MinValue, double.MinValue)
        : (model.Quality?.Figure.Value ?? -1, model.Components.Sum(c => c.Parameters?.Value ?? c.FileBytes.Value / 4));
}
