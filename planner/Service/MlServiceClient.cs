using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;

namespace GpuSplit.Planner.Service;

/// <summary>What one /predict came to: a status and its body, or a connection that dropped (a worker that crashed).</summary>
public sealed record PredictOutcome(int? Status, string Body, string? Dropped)
{
    public bool Ok => Status is >= 200 and < 300;

    public string Describe() => Dropped is { } why
        ? $"the connection dropped ({why})"
        : $"HTTP {Status}: {(Body.Length > 300 ? Body[..300] + "…" : Body).Trim()}";
}

/// <summary>
/// Immich's ML service over HTTP, spoken the way Immich's server speaks it: <c>GET /</c> to know it, <c>/ping</c>
/// for health, and <c>/predict</c> as a multipart form in the shape Node's fetch (undici) writes it.
/// </summary>
public sealed class MlServiceClient : IDisposable
{
    private static readonly TimeSpan PingTimeout = TimeSpan.FromSeconds(2);
    private readonly HttpClient _http;

    public MlServiceClient(Uri url)
    {
        Url = url;
        // Immich's server has no timeout of its own on /predict; Node's fetch gives up after 300 s without headers.
        _http = new HttpClient(new SocketsHttpHandler { ConnectTimeout = TimeSpan.FromSeconds(10), PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
        {
            BaseAddress = url,
            Timeout = TimeSpan.FromSeconds(300),
        };
    }

    public Uri Url { get; }

    /// <exception cref="Measure.MeasureException">Nothing answers at the URL, or what answers is not Immich's ML service.</exception>
    public async Task IdentifyAsync(CancellationToken cancellationToken)
    {
        string body;
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(5));
            using var response = await _http.GetAsync("/", timeout.Token);
            body = await response.Content.ReadAsStringAsync(timeout.Token);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw new Measure.MeasureException($"{Url} does not answer ({Innermost(e)}); --service takes the ML service's URL, e.g. http://127.0.0.1:3003");
        }

        if (!body.Contains("Immich ML", StringComparison.Ordinal))
        {
            throw new Measure.MeasureException($"{Url} is not Immich's ML service: GET / answered '{Shorten(body)}', not {{\"message\":\"Immich ML\"}}");
        }
    }

    public async Task<bool> PingAsync(CancellationToken cancellationToken)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(PingTimeout);
            using var response = await _http.GetAsync("/ping", timeout.Token);
            return response.IsSuccessStatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    public async Task<PredictOutcome> PredictAsync(ServiceRequest request, byte[] image, CancellationToken cancellationToken)
    {
        var boundary = "----formdata-undici-0" + RandomNumberGenerator.GetInt32(0, int.MaxValue).ToString("D11", System.Globalization.CultureInfo.InvariantCulture);
        using var content = new ByteArrayContent(FormBody(boundary, request, image));
        content.Headers.ContentType = MediaTypeHeaderValue.Parse($"multipart/form-data; boundary={boundary}");
        try
        {
            using var response = await _http.PostAsync("/predict", content, cancellationToken);
            return new PredictOutcome((int)response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken), null);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return new PredictOutcome(null, "", e is TaskCanceledException ? $"no answer within {_http.Timeout.TotalSeconds:0} s" : Innermost(e));
        }
    }

    public void Dispose() => _http.Dispose();

    /// <summary>undici's multipart encoding (lib/web/fetch/body.js): entries first, then the image as a Blob, or the text.</summary>
    private static byte[] FormBody(string boundary, ServiceRequest request, byte[] image)
    {
        using var body = new MemoryStream();
        void Ascii(string s) => body.Write(Encoding.UTF8.GetBytes(s));
        Ascii($"--{boundary}\r\nContent-Disposition: form-data; name=\"entries\"\r\n\r\n{request.Entries}\r\n");
        if (request.WithImage)
        {
            Ascii($"--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; filename=\"blob\"\r\nContent-Type: application/octet-stream\r\n\r\n");
            body.Write(image);
            Ascii("\r\n");
        }
        else
        {
            Ascii($"--{boundary}\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\n{ServiceRequest.SearchText}\r\n");
        }

        Ascii($"--{boundary}--\r\n");
        return body.ToArray();
    }

    private static string Innermost(Exception e)
    {
        while (e.InnerException is { } inner)
        {
            e = inner;
        }

        return e is TaskCanceledException ? "no answer within 5 s" : e.Message;
    }

    private static string Shorten(string text) => text.Length > 80 ? text[..80] + "…" : text.Trim();
}
