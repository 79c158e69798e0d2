using System.IO.Pipelines;
using System.Text;
using GpuSplit.Planner.Service;
using GpuSplit.Shim.Classification;
using GpuSplit.Shim.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace GpuSplit.Shim.Tests.Units;

public sealed class MultipartFieldScannerTests
{
    private const string Boundary = "----formdata-undici-012345678901";

    private static byte[] ImmichForm => ImmichPredictRequest.FormBytes(Boundary, ImmichPredictRequest.SmartSearchEntries, PreviewJpeg.Small(), null);

    [Fact]
    public void Finds_entries_at_the_start_of_an_Immich_form()
    {
        var form = ImmichForm;

        var scan = MultipartFieldScanner.Find(form, Boundary, "entries");

        Assert.Equal(FieldScanOutcome.Found, scan.Outcome);
        Assert.Equal(ImmichPredictRequest.SmartSearchEntries, Encoding.UTF8.GetString(form, scan.Start, scan.Length));
    }

    [Fact]
    public void Asks_for_more_until_the_field_has_ended_at_every_split_point()
    {
        var form = ImmichForm;
        var end = Encoding.ASCII.GetByteCount($"--{Boundary}\r\nContent-Disposition: form-data; name=\"entries\"\r\n\r\n{ImmichPredictRequest.SmartSearchEntries}\r\n--{Boundary}");

        for (var cut = 0; cut < end; cut++)
        {
            Assert.Equal(FieldScanOutcome.NeedMore, MultipartFieldScanner.Find(form.AsSpan(0, cut), Boundary, "entries").Outcome);
        }

        Assert.Equal(FieldScanOutcome.Found, MultipartFieldScanner.Find(form.AsSpan(0, end), Boundary, "entries").Outcome);
    }

    [Fact]
    public void Skips_earlier_parts_and_reports_a_missing_field_at_the_closing_delimiter()
    {
        var withText = Encoding.UTF8.GetBytes($"--b\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nhello\r\n--b\r\nContent-Disposition: form-data; name=\"entries\"\r\n\r\n{{}}\r\n--b--\r\n");
        var without = Encoding.UTF8.GetBytes("--b\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\nhello\r\n--b--\r\n");

        var found = MultipartFieldScanner.Find(withText, "b", "entries");

        Assert.Equal(FieldScanOutcome.Found, found.Outcome);
        Assert.Equal("{}", Encoding.UTF8.GetString(withText, found.Start, found.Length));
        Assert.Equal(FieldScanOutcome.Absent, MultipartFieldScanner.Find(without, "b", "entries").Outcome);
    }

    [Fact]
    public void A_part_without_a_name_is_malformed()
    {
        var form = Encoding.UTF8.GetBytes("--b\r\nContent-Type: text/plain\r\n\r\nx\r\n--b--\r\n");

        var scan = MultipartFieldScanner.Find(form, "b", "entries");

        Assert.Equal(FieldScanOutcome.Malformed, scan.Outcome);
        Assert.Contains("Content-Disposition", scan.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_classifier_passes_the_whole_body_on_from_its_first_byte_even_when_it_arrives_in_pieces()
    {
        var form = ImmichForm;
        var pipe = new Pipe();
        var context = new DefaultHttpContext();
        context.Request.ContentType = $"multipart/form-data; boundary={Boundary}";
        // As in Kestrel, the body's stream and its pipe reader are one. The classifier consumes the form's start (a
        // peek that examined more than it consumed would break Kestrel's drain when the client goes) and puts it back
        // in front of the body.
        context.Features.Set<IRequestBodyPipeFeature>(new PipeBody(pipe.Reader));
        context.Request.Body = pipe.Reader.AsStream();
        var classifying = new RequestClassifier().ClassifyPredictAsync(context.Request);

        foreach (var piece in form.Chunk(7).Take(40))
        {
            await pipe.Writer.WriteAsync(piece, TestContext.Current.CancellationToken);
        }

        var classification = await classifying;
        await pipe.Writer.WriteAsync(form.AsMemory(280), TestContext.Current.CancellationToken);
        await pipe.Writer.CompleteAsync();
        using var rest = new MemoryStream();
        await context.Request.Body.CopyToAsync(rest, TestContext.Current.CancellationToken);

        Assert.Equal(MlRequestKind.SmartSearch, classification.Kind);
        Assert.Null(classification.Problem);
        Assert.Equal(form, rest.ToArray());
    }

    private sealed class PipeBody(PipeReader reader) : IRequestBodyPipeFeature
    {
        public PipeReader Reader => reader;
    }
}
