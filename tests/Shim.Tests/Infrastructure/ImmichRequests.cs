using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;

namespace GpuSplit.Shim.Tests.Infrastructure;

/// <summary>
/// /predict requests byte for byte as Immich's server sends them: machine-learning.repository.ts appends
/// <c>entries</c> (JSON.stringify of the task config) and then the image (a Blob, so filename "blob" and
/// type application/octet-stream) or the text, and Node's fetch (undici) serialises the FormData with its
/// own boundary, CRLF line ends, a trailing CRLF and a Content-Length.
/// </summary>
public static class ImmichRequests
{
    public const string ClipVisual = """{"clip":{"visual":{"modelName":"ViT-B-32__openai"}}}""";
    public const string ClipTextual = """{"clip":{"textual":{"modelName":"ViT-B-32__openai","options":{"language":"en"}}}}""";
    public const string Faces = """{"facial-recognition":{"detection":{"modelName":"buffalo_l","options":{"minScore":0.7}},"recognition":{"modelName":"buffalo_l"}}}""";
    public const string Ocr = """{"ocr":{"detection":{"modelName":"PP-OCRv5_mobile","options":{"minScore":0.5,"maxResolution":736}},"recognition":{"modelName":"PP-OCRv5_mobile","options":{"minScore":0.8}}}}""";

    public static HttpRequestMessage SmartSearchJob(byte[] jpeg) => Predict(ClipVisual, image: jpeg);

    public static HttpRequestMessage FaceJob(byte[] jpeg) => Predict(Faces, image: jpeg);

    public static HttpRequestMessage OcrJob(byte[] jpeg) => Predict(Ocr, image: jpeg);

    public static HttpRequestMessage Search(string query) => Predict(ClipTextual, text: query);

    public static HttpRequestMessage Predict(string entries, byte[]? image = null, string? text = null)
    {
        var boundary = "----formdata-undici-0" + RandomNumberGenerator.GetInt32(0, int.MaxValue).ToString("D11", System.Globalization.CultureInfo.InvariantCulture);
        var content = new ByteArrayContent(FormBody(boundary, ("entries", entries), image, text));
        content.Headers.ContentType = MediaTypeHeaderValue.Parse($"multipart/form-data; boundary={boundary}");
        return Raw(content);
    }

    /// <summary>A /predict with Immich's headers around any body.</summary>
    public static HttpRequestMessage Raw(HttpContent content)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, "/predict") { Content = content };
        request.Headers.Accept.ParseAdd("*/*");
        request.Headers.AcceptLanguage.ParseAdd("*");
        request.Headers.Add("sec-fetch-mode", "cors");
        request.Headers.UserAgent.ParseAdd("node");
        request.Headers.AcceptEncoding.ParseAdd("gzip, deflate");
        return request;
    }

    /// <summary>undici's multipart encoding (lib/web/fetch/body.js, extractBody).</summary>
    public static byte[] FormBody(string boundary, (string Name, string Value) field, byte[]? image, string? text, bool imageFirst = false)
    {
        using var body = new MemoryStream();
        void Ascii(string s) => body.Write(Encoding.UTF8.GetBytes(s));
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

        Field(field.Name, field.Value);
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
}

/// <summary>Bytes shaped like the preview JPEG Immich sends (SOI, JFIF marker, payload, EOI).</summary>
public static class PreviewJpeg
{
    public static byte[] Create(int size = 300 * 1024, int seed = 1)
    {
        var bytes = new byte[size];
        new Random(seed).NextBytes(bytes);
        ReadOnlySpan<byte> head = [0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, (byte)'J', (byte)'F', (byte)'I', (byte)'F', 0x00];
        head.CopyTo(bytes);
        bytes[^2] = 0xFF;
        bytes[^1] = 0xD9;
        return bytes;
    }

    public static string Sha256(byte[] bytes) => Convert.ToHexString(SHA256.HashData(bytes));
}
