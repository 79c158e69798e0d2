using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using GpuSplit.Planner.Service;
using GpuSplit.Testing;
using GpuSplit.Testing.Immich;

namespace GpuSplit.EndToEnd.Tests.Fixtures;

/// <summary>The load driver's requests are Immich's: the multipart form Node writes, the entries the server writes, a real JPEG.</summary>
public sealed class ImmichRequestTests
{
    [Theory]
    [InlineData(JobKind.SmartSearch, "clip", "visual", "ViT-B-32__openai")]
    [InlineData(JobKind.FaceDetection, "facial-recognition", "detection", "buffalo_l")]
    [InlineData(JobKind.Ocr, "ocr", "detection", "PP-OCRv5_mobile")]
    public async Task A_job_is_an_entries_field_then_the_preview_as_a_blob(JobKind kind, string task, string type, string model)
    {
        var jpeg = PreviewJpeg.Encode(64, 48, 80, seed: 3);
        using var form = ImmichPredictRequest.ForJob(kind, jpeg);
        var contentType = form.Headers.ContentType!.ToString();
        Assert.Matches("^multipart/form-data; boundary=----formdata-undici-0[0-9]{11}$", contentType);
        var boundary = contentType[(contentType.IndexOf('=', StringComparison.Ordinal) + 1)..];
        var body = await form.ReadAsByteArrayAsync(TestContext.Current.CancellationToken);
        Assert.Equal(body.Length, form.Headers.ContentLength);

        var text = Encoding.Latin1.GetString(body);
        var parts = text.Split("--" + boundary);
        Assert.Equal(4, parts.Length); // preamble, entries, image, closing "--\r\n"
        Assert.Equal("--\r\n", parts[3]);
        var entries = parts[1];
        Assert.StartsWith("\r\nContent-Disposition: form-data; name=\"entries\"\r\n\r\n", entries, StringComparison.Ordinal);
        var json = JsonNode.Parse(entries.Split("\r\n\r\n", 2)[1].TrimEnd('\r', '\n'))!;
        Assert.Equal(model, (string?)json[task]![type]!["modelName"]);
        Assert.Equal(ImmichPredictRequest.Entries(kind), json.ToJsonString());

        var image = parts[2];
        Assert.StartsWith("\r\nContent-Disposition: form-data; name=\"image\"; filename=\"blob\"\r\nContent-Type: application/octet-stream\r\n\r\n",
            image, StringComparison.Ordinal);
        var bytes = Encoding.Latin1.GetBytes(image.Split("\r\n\r\n", 2)[1][..^2]);
        Assert.Equal(jpeg, bytes);
    }

    [Fact]
    public async Task A_search_query_is_clip_textual_with_a_text_field_and_no_image()
    {
        using var form = ImmichPredictRequest.ForSearch("a dog on the beach");
        var text = await form.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.Contains("Content-Disposition: form-data; name=\"entries\"\r\n\r\n{\"clip\":{\"textual\":{\"modelName\":\"ViT-B-32__openai\",\"options\":{\"language\":\"en\"}}}}\r\n",
            text, StringComparison.Ordinal);
        Assert.Contains("Content-Disposition: form-data; name=\"text\"\r\n\r\na dog on the beach\r\n", text, StringComparison.Ordinal);
        Assert.DoesNotContain("name=\"image\"", text, StringComparison.Ordinal);
        Assert.DoesNotContain("Content-Type", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_preview_is_a_baseline_jpeg_that_an_independent_decoder_reads_without_a_warning()
    {
        RequiredPart.Require(File.Exists("/usr/bin/djpeg"), "djpeg (libjpeg-turbo-progs: an independent JPEG decoder)");
        var jpeg = PreviewJpeg.Default;
        Assert.Equal([0xFF, 0xD8], jpeg[..2]);
        Assert.Equal([0xFF, 0xD9], jpeg[^2..]);
        // A real preview is some hundreds of KB; a flat or broken picture would be far smaller.
        Assert.InRange(jpeg.Length, 100_000, 2_000_000);

        var path = Path.Combine(Path.GetTempPath(), $"gpusplit-preview-{Guid.NewGuid():N}.jpg");
        await File.WriteAllBytesAsync(path, jpeg, TestContext.Current.CancellationToken);
        try
        {
            var start = new ProcessStartInfo("/usr/bin/djpeg", ["-pnm", path]) { RedirectStandardOutput = true, RedirectStandardError = true };
            using var djpeg = Process.Start(start)!;
            using var decoded = new MemoryStream();
            var copy = djpeg.StandardOutput.BaseStream.CopyToAsync(decoded, TestContext.Current.CancellationToken);
            var warnings = await djpeg.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
            await copy;
            await djpeg.WaitForExitAsync(TestContext.Current.CancellationToken).WaitAsync(TimeSpan.FromSeconds(30), TestContext.Current.CancellationToken);
            Assert.Equal(0, djpeg.ExitCode);
            Assert.Equal("", warnings);
            var pixels = decoded.ToArray();
            // A colour picture: P6, 1920 by 1440, 8 bits, then 3 bytes per pixel.
            var header = "P6\n1920 1440\n255\n";
            Assert.Equal(header, Encoding.ASCII.GetString(pixels, 0, header.Length));
            Assert.Equal(header.Length + (1920 * 1440 * 3), pixels.Length);
            // The sky is blue: the top rows' blue channel outweighs their red one, as painted.
            var top = pixels.AsSpan(header.Length, 1920 * 3 * 8).ToArray();
            Assert.True(top.Where((_, i) => i % 3 == 2).Average(b => b) > top.Where((_, i) => i % 3 == 0).Average(b => b) + 50);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
