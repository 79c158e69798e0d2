using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;

namespace GpuSplit.Testing.Immich;

/// <summary>The three background jobs that call the ML service, by their queue names in Immich.</summary>
public enum JobKind
{
    SmartSearch,
    FaceDetection,
    Ocr,
}

/// <summary>
/// <c>POST /predict</c> bodies exactly as Immich's server builds them (server/src/repositories/
/// machine-learning.repository.ts with the default models and options): a multipart form as Node's fetch writes
/// a FormData, with <c>entries</c> (the request as JSON.stringify prints it) and either the preview JPEG as
/// <c>image</c> (a Blob: filename "blob", application/octet-stream) or a search query as <c>text</c>.
/// </summary>
public static class ImmichPredictRequest
{
    public const string ClipModel = "ViT-B-32__openai";
    public const string FaceModel = "buffalo_l";
    public const string OcrModel = "PP-OCRv5_mobile";

    /// <summary>A user's smart-search query (encodeText): CLIP textual with the language option.</summary>
    public const string SearchEntries = """{"clip":{"textual":{"modelName":"ViT-B-32__openai","options":{"language":"en"}}}}""";

    /// <summary>The <c>entries</c> field of a background job, key order as the server writes it.</summary>
    public static string Entries(JobKind kind) => kind switch
    {
        JobKind.SmartSearch => """{"clip":{"visual":{"modelName":"ViT-B-32__openai"}}}""",
        JobKind.FaceDetection => """{"facial-recognition":{"detection":{"modelName":"buffalo_l","options":{"minScore":0.7}},"recognition":{"modelName":"buffalo_l"}}}""",
        JobKind.Ocr => """{"ocr":{"detection":{"modelName":"PP-OCRv5_mobile","options":{"minScore":0.5,"maxResolution":736}},"recognition":{"modelName":"PP-OCRv5_mobile","options":{"minScore":0.8}}}}""",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    /// <summary>The key of the answer Immich reads (<c>response[ModelTask...]</c>).</summary>
    public static string ResultKey(JobKind kind) => kind switch
    {
        JobKind.SmartSearch => "clip",
        JobKind.FaceDetection => "facial-recognition",
        JobKind.Ocr => "ocr",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    /// <summary>The form of one background job on one asset's preview.</summary>
    public static MultipartFormDataContent ForJob(JobKind kind, byte[] previewJpeg)
    {
        var form = NewForm();
        form.Add(Field("entries", Entries(kind)));
        var image = new ByteArrayContent(previewJpeg);
        image.Headers.ContentDisposition = new ContentDispositionHeaderValue("form-data") { Name = "\"image\"", FileName = "\"blob\"" };
        image.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        form.Add(image);
        return form;
    }

    /// <summary>The form of a smart-search query.</summary>
    public static MultipartFormDataContent ForSearch(string query)
    {
        var form = NewForm();
        form.Add(Field("entries", SearchEntries));
        form.Add(Field("text", query));
        return form;
    }

    // undici's FormData boundary and header: unquoted, "----formdata-undici-0" and 11 digits.
    private static MultipartFormDataContent NewForm()
    {
        var boundary = "----formdata-undici-0" + RandomNumberGenerator.GetInt32(0, int.MaxValue).ToString("D11", CultureInfo.InvariantCulture);
        var form = new MultipartFormDataContent(boundary);
        form.Headers.ContentType = MediaTypeHeaderValue.Parse("multipart/form-data; boundary=" + boundary);
        return form;
    }

    // A string field has a name and no content type of its own.
    private static StringContent Field(string name, string value)
    {
        var content = new StringContent(value);
        content.Headers.ContentType = null;
        content.Headers.ContentDisposition = new ContentDispositionHeaderValue("form-data") { Name = $"\"{name}\"" };
        return content;
    }
}
