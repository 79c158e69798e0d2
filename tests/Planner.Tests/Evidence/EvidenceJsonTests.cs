using System.Text;
using GpuSplit.Planner.Evidence;
using GpuSplit.Planner.Memory;

namespace GpuSplit.Planner.Tests.Evidence;

public sealed class EvidenceJsonTests
{
    private const string Valid = """
        {"gpu": "NVIDIA GeForce GTX 1060 6GB", "vramMiB": 6144, "workers": 1, "concurrency": {"smartSearch": 3, "faceDetection": 3, "ocr": 1},
         "clip": "ViT-B-32__openai", "facialRecognition": "buffalo_l", "ocr": null, "outcome": "comfortable", "source": "my card", "date": "2026-12-01"}
        """;

    private static IReadOnlyList<EvidenceRecord> Read(string json) => EvidenceJson.Read(new MemoryStream(Encoding.UTF8.GetBytes(json)), "mine.json");

    [Fact]
    public void One_record_in_the_issues_shape_reads_with_extra_fields_ignored()
    {
        var record = Assert.Single(Read(Valid));

        Assert.Equal(
            new EvidenceRecord("NVIDIA GeForce GTX 1060 6GB", 6144, 1, new JobConcurrency(3, 3, 1), "ViT-B-32__openai", "buffalo_l", null, EvidenceOutcome.Comfortable, "my card"),
            record);
    }

    [Fact]
    public void What_is_written_reads_back_the_same()
    {
        var records = new[]
        {
            new EvidenceRecord("GPU A", 8192, 2, new JobConcurrency(2, 2, 1), "clip", null, "ocr", EvidenceOutcome.Oom, "agent restart"),
            new EvidenceRecord("GPU B", 6144, 1, JobConcurrency.Seed, "clip", "face", null, EvidenceOutcome.Unstable, "forum"),
            // An agent that was not told Immich's job concurrency: written as null, read back as unknown.
            new EvidenceRecord("GPU C", 6144, 1, null, "clip", "face", "ocr", EvidenceOutcome.Oom, "agent without concurrency"),
        };

        Assert.Equal(records, Read(EvidenceJson.Write(records)));
    }

    [Fact]
    public void The_embedded_records_read()
    {
        var records = EvidenceJson.LoadEmbedded();
        Assert.Equal(5, records.Count);
        Assert.All(records, r => Assert.False(string.IsNullOrWhiteSpace(r.Source)));
    }

    [Theory]
    [InlineData("[1]", "mine.json: record #1: must be an object")]
    [InlineData("\"oom\"", "mine.json: the top level must be a record or an array of records")]
    [InlineData("[{", "mine.json: not valid JSON (line 1:")]
    [InlineData("""{"outcome": "crashed"}""", "mine.json: outcome 'crashed' is not one of oom, unstable, works, comfortable")]
    [InlineData("""{"outcome": "oom", "concurrency": 3}""", "mine.json: concurrency must be an object with smartSearch, faceDetection and ocr, or null when unknown")]
    [InlineData("""{"outcome": "oom"}""", "mine.json: gpu must be a non-empty string")]
    public void A_malformed_file_is_one_line_naming_the_record(string json, string expected)
    {
        var error = Assert.Throws<EvidenceException>(() => Read(json));
        Assert.StartsWith(expected, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Theory]
    [InlineData("\"vramMiB\": 6144", "\"vramMiB\": 0", "mine.json: record #2: vramMiB must be a whole number from 1 up")]
    [InlineData("\"workers\": 1", "\"workers\": 1.5", "mine.json: record #2: workers must be a whole number from 1 to 64")]
    [InlineData("\"ocr\": 1}", "\"ocr\": 0}", "mine.json: record #2: concurrency: ocr must be a whole number from 1 to 64")]
    [InlineData("\"source\": \"my card\"", "\"source\": \"\"", "mine.json: record #2: source must be a non-empty string")]
    [InlineData("\"facialRecognition\": \"buffalo_l\"", "\"facialRecognition\": 7", "mine.json: record #2: facialRecognition must be a non-empty string")]
    [InlineData("\"clip\": \"ViT-B-32__openai\", ", "", "mine.json: record #2: clip must be a non-empty string")]
    public void A_bad_field_names_the_record_and_the_field(string from, string to, string expected)
    {
        var error = Assert.Throws<EvidenceException>(() => Read($"[{Valid}, {Valid.Replace(from, to, StringComparison.Ordinal)}]"));
        Assert.Equal(expected, error.Message);
    }
}
