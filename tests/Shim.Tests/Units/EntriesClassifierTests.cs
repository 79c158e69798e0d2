using System.Text;
using GpuSplit.Shim.Classification;
using GpuSplit.Shim.Tests.Infrastructure;

namespace GpuSplit.Shim.Tests.Units;

public sealed class EntriesClassifierTests
{
    [Theory]
    [InlineData(ImmichPredictRequest.SearchEntries, MlRequestKind.Search)]
    [InlineData("""{"clip":{"textual":{"modelName":"ViT-B-32__openai","options":{}}}}""", MlRequestKind.Search)]
    [InlineData(ImmichPredictRequest.SmartSearchEntries, MlRequestKind.SmartSearch)]
    [InlineData(ImmichPredictRequest.FaceDetectionEntries, MlRequestKind.FaceDetection)]
    [InlineData(ImmichPredictRequest.OcrEntries, MlRequestKind.Ocr)]
    [InlineData("""{"image-captioning":{"pipeline":{"modelName":"x"}}}""", MlRequestKind.OtherJob)]
    [InlineData("""{"facial-recognition":{"detection":{"modelName":"buffalo_l"}},"clip":{"textual":{"modelName":"m"}}}""", MlRequestKind.Search)]
    public void Names_the_kind_of_Immichs_requests(string entries, MlRequestKind kind)
    {
        var classification = EntriesClassifier.Classify(Encoding.UTF8.GetBytes(entries));

        Assert.Null(classification.Problem);
        Assert.Equal(kind, classification.Kind);
    }

    [Theory]
    [InlineData("")]
    [InlineData("clip")]
    [InlineData("[]")]
    [InlineData("{}")]
    [InlineData("""{"clip":{}}""")]
    [InlineData("""{"clip":["visual"]}""")]
    [InlineData("""{"clip":{"visual":null}}""")]
    public void Refuses_entries_of_the_wrong_shape_with_422(string entries)
    {
        var classification = EntriesClassifier.Classify(Encoding.UTF8.GetBytes(entries));

        Assert.NotNull(classification.Problem);
        Assert.Equal(422, classification.Problem.StatusCode);
        Assert.Equal("malformed-entries", classification.Problem.Error);
    }

    [Theory]
    [InlineData(MlRequestKind.Search, true)]
    [InlineData(MlRequestKind.Info, true)]
    [InlineData(MlRequestKind.SmartSearch, false)]
    [InlineData(MlRequestKind.FaceDetection, false)]
    [InlineData(MlRequestKind.Ocr, false)]
    [InlineData(MlRequestKind.OtherJob, false)]
    public void Only_searches_and_the_banner_are_interactive(MlRequestKind kind, bool interactive) =>
        Assert.Equal(interactive, kind.IsInteractive());
}
