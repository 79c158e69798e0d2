using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.Options;

namespace GpuSplit.Shim.Immich;

/// <summary>
/// Immich's API over HTTP, authenticated with <c>x-api-key</c> as @immich/sdk does. Runs beside the proxy, never in
/// its path: every failure (no key, 401, 5xx, unreachable, timeout, unexpected body) is a result with a reason.
/// </summary>
public sealed partial class ImmichApiClient(HttpClient http, IOptions<ImmichOptions> options, ILogger<ImmichApiClient> logger) : IImmichApi
{
    public const string ApiKeyHeader = "x-api-key";

    private readonly ImmichOptions _options = options.Value;

    public bool Enabled => _options.Enabled;

    public Task<ImmichResult<IReadOnlyList<QueueResponse>>> GetQueuesAsync(CancellationToken cancellationToken) =>
        SendAsync<IReadOnlyList<QueueResponse>, QueueResponse[]>(HttpMethod.Get, "api/queues", null, ImmichJsonContext.Default.QueueResponseArray, cancellationToken);

    public Task<ImmichResult<QueueResponse>> SetPausedAsync(string queue, bool paused, CancellationToken cancellationToken) =>
        SendAsync<QueueResponse, QueueResponse>(HttpMethod.Put, $"api/queues/{Uri.EscapeDataString(queue)}",
            JsonContent.Create(new QueueUpdate(paused), ImmichJsonContext.Default.QueueUpdate),
            ImmichJsonContext.Default.QueueResponse, cancellationToken);

    public Task<ImmichResult<QueueResponseLegacy>> StartMissingAsync(string queue, CancellationToken cancellationToken) =>
        SendAsync<QueueResponseLegacy, QueueResponseLegacy>(HttpMethod.Put, $"api/jobs/{Uri.EscapeDataString(queue)}",
            JsonContent.Create(QueueCommand.StartMissing, ImmichJsonContext.Default.QueueCommand),
            ImmichJsonContext.Default.QueueResponseLegacy, cancellationToken);

    private async Task<ImmichResult<TResult>> SendAsync<TResult, TBody>(HttpMethod method, string path, HttpContent? content,
        JsonTypeInfo<TBody> body, CancellationToken cancellationToken)
        where TResult : class
        where TBody : TResult
    {
        if (!_options.Enabled)
        {
            return ImmichResult<TResult>.Failed(ImmichOptions.DisabledReason);
        }

        var what = $"{method} /{path}";
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.Timeout);
        try
        {
            using var request = new HttpRequestMessage(method, new Uri(BaseUri, path)) { Content = content };
            request.Headers.Add(ApiKeyHeader, _options.ApiKey);
            request.Headers.Accept.ParseAdd("application/json");
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            if (!response.IsSuccessStatusCode)
            {
                return Fail<TResult>(what, StatusText(response.StatusCode));
            }

            var value = await response.Content.ReadFromJsonAsync(body, timeout.Token);
            return value is null ? Fail<TResult>(what, "answered an empty body") : ImmichResult<TResult>.Ok(value);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return Fail<TResult>(what, $"no answer within {_options.Timeout.TotalSeconds:0.#} s");
        }
        catch (HttpRequestException e)
        {
            return Fail<TResult>(what, $"unreachable: {e.Message}");
        }
        catch (System.Text.Json.JsonException e)
        {
            return Fail<TResult>(what, $"answered JSON of another shape (is this Immich?): {e.Message}");
        }
        catch (NotSupportedException e)
        {
            return Fail<TResult>(what, $"answered something other than JSON (is this Immich?): {e.Message}");
        }
    }

    private Uri BaseUri => new(_options.Url!.EndsWith('/') ? _options.Url : _options.Url + "/");

    private static string StatusText(HttpStatusCode status) => status switch
    {
        HttpStatusCode.Unauthorized => "401 Unauthorized: the API key is not accepted (check Shim__Immich__ApiKey)",
        HttpStatusCode.Forbidden => "403 Forbidden: the API key lacks the permission for this call (give it the queue.* and job.* permissions)",
        HttpStatusCode.NotFound => "404 Not Found: this Immich has no such endpoint or queue (Immich too old for the queues API?)",
        _ => $"{(int)status} {status}",
    };

    private ImmichResult<T> Fail<T>(string what, string why)
        where T : class
    {
        var error = $"Immich API {what}: {why}";
        LogFailed(logger, error);
        return ImmichResult<T>.Failed(error);
    }

    [LoggerMessage(EventId = 710, Level = LogLevel.Warning, Message = "{Error}")]
    private static partial void LogFailed(ILogger logger, string error);
}
