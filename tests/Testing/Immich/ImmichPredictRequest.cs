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

    public const string SmartSearchEntries = """{"clip":{"visual":{"modelName":"ViT-B-32__openai"}}}""";
    public const string FaceDetectionEntries = """{"facial-recognition":{"detection":{"modelName":"buffalo_l","options":{"minScore":0.7}},"recognition":{"modelName":"buffalo_l"}}}""";
    public const string OcrEntries = """{"ocr":{"detection":{"modelName":"PP-OCRv5_mobile","options":{"minScore":0.5,"maxResolution":736}},"recognition":{"modelName":"PP-OCRv5_mobile","options":{"minScore":0.8}}}}""";

    /// <summary>The <c>entries</c> field of a background job, key order as the server writes it.</summary>
    public static string Entries(JobKind kind) => kind switch
    {
        JobKind.SmartSearch => SmartSearchEntries,
        JobKind.FaceDetection => FaceDetectionEntries,
        JobKind.Ocr => OcrEntries,
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    /// <summary>A whole <c>POST /predict</c> for one background job, with the headers Node's fetch sends.</summary>
    public static HttpRequestMessage Job(JobKind kind, byte[] previewJpeg) => Post(ForJob(kind, previewJpeg));

    /// <summary>A whole <c>POST /predict</c> for a smart-search query.</summary>
    public static HttpRequestMessage Search(string query) => Post(ForSearch(query));

    /// <summary>A <c>POST /predict</c> with Immich's (Node's fetch) headers around any body.</summary>
    public static HttpRequestMessage Post(HttpContent content)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/predict") { Content = content };
        request.Headers.Accept.ParseAdd("*/*");
        request.Headers.AcceptLanguage.ParseAdd("*");
        request.Headers.Add("sec-fetch-mode", "cors");
        request.Headers.UserAgent.ParseAdd("node");
        request.Headers.AcceptEncoding.ParseAdd("gzip, deflate");
        return request;
    }

    /// <summary>
    /// The same multipart encoding written by hand, for bodies a test must shape itself (the image before
    /// <c>entries</c>, a body sent chunked, a form to scan): CRLF line ends, the closing boundary and a trailing CRLF.
    /// </summary>
    public static byte[] FormBytes(string boundary, string entries, byte[]? image, string? text, bool imageFirst = false)
    {
        using var body = new MemoryStream();
        void Ascii(string s) => body.Write(System.Text.Encoding.UTF8.GetBytes(s));
        void Field(string name, string value) => Ascii($"--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n");
        void Image()
        {
            Ascii($"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"blob\"\r\nContent-Type: application/octet-stream\r\n\r\n");
            body.Write(image);
            Ascii("\r\n");
        }

        if (image is not null && imageFirst)
        {
            Image();
        }

        Field("entries", entries);
        if (image is not null && !imageFirst)
        {
            Image();
        }

        if (text is not null)
        {
            Field("text", text);
        }

        Ascii($"--{boundary}--\r\n");
        return body.ToArray();
    }

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
