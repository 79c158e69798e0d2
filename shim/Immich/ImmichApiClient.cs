using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.Options;

namespace GpuSplit.Shim.Immich;

/// <summary>
/// Immich's API over HTTP, authenticated with <c>x-api-key</c> as @immich/sdk does. Runs beside the proxy, never in
/// its path: every failure (no key, 401, 5xx, unreachable, timeout, unexpected body) is a result with a reason.
/// The server's version (<c>GET /api/server/version</c>) picks the API: the queues API from Immich 2.3.0 on, the jobs
/// API (deprecated since 2.3.0) before. It is asked once per connection: again after Immich was unreachable or
/// answered 404 (an upgrade or a downgrade happens across a restart).
/// </summary>
public sealed partial class ImmichApiClient(HttpClient http, IOptions<ImmichOptions> options, ILogger<ImmichApiClient> logger) : IImmichApi
{
    public const string ApiKeyHeader = "x-api-key";

    private readonly ImmichOptions _options = options.Value;
    private ServerVersion? _version;

    public bool Enabled => _options.Enabled;

    public async Task<ImmichResult<IReadOnlyList<QueueResponse>>> GetQueuesAsync(CancellationToken cancellationToken)
    {
        var version = await VersionAsync(cancellationToken);
        if (!version.Succeeded)
        {
            return ImmichResult<IReadOnlyList<QueueResponse>>.Failed(version.Error!);
        }

        if (version.Value!.HasQueuesApi)
        {
            var queues = await SendAsync(HttpMethod.Get, "api/queues", null, ImmichJsonContext.Default.QueueResponseArray, cancellationToken);
            return queues.Map<IReadOnlyList<QueueResponse>>(q => q);
        }

        var jobs = await SendAsync(HttpMethod.Get, "api/jobs", null, ImmichJsonContext.Default.DictionaryStringQueueResponseLegacy, cancellationToken);
        return jobs.Map<IReadOnlyList<QueueResponse>>(j => [.. j.Select(q => q.Value.Named(q.Key))]);
    }

    public async Task<ImmichResult<QueueResponse>> SetPausedAsync(string queue, bool paused, CancellationToken cancellationToken)
    {
        var version = await VersionAsync(cancellationToken);
        if (!version.Succeeded)
        {
            return ImmichResult<QueueResponse>.Failed(version.Error!);
        }

        if (version.Value!.HasQueuesApi)
        {
            return await SendAsync(HttpMethod.Put, $"api/queues/{Uri.EscapeDataString(queue)}",
                JsonContent.Create(new QueueUpdate(paused), ImmichJsonContext.Default.QueueUpdate),
                ImmichJsonContext.Default.QueueResponse, cancellationToken);
        }

        var legacy = await CommandAsync(queue, paused ? QueueCommand.Pause : QueueCommand.Resume, cancellationToken);
        return legacy.Map(q => q.Named(queue));
    }

    /// <remarks>The same call on every version: the queues API has no "Missing".</remarks>
    public Task<ImmichResult<QueueResponseLegacy>> StartMissingAsync(string queue, CancellationToken cancellationToken) =>
        CommandAsync(queue, QueueCommand.StartMissing, cancellationToken);

    private Task<ImmichResult<QueueResponseLegacy>> CommandAsync(string queue, QueueCommand command, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Put, $"api/jobs/{Uri.EscapeDataString(queue)}",
            JsonContent.Create(command, ImmichJsonContext.Default.QueueCommand),
            ImmichJsonContext.Default.QueueResponseLegacy, cancellationToken);

    private async Task<ImmichResult<ServerVersion>> VersionAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _version) is { } known)
        {
            return ImmichResult<ServerVersion>.Ok(known);
        }

        var asked = await SendAsync(HttpMethod.Get, "api/server/version", null, ImmichJsonContext.Default.ServerVersion, cancellationToken);
        if (asked.Value is { } version)
        {
            Volatile.Write(ref _version, version);
            LogVersion(logger, version.ToString(), version.HasQueuesApi ? "the queues API (GET/PUT /api/queues)" : "the jobs API (GET/PUT /api/jobs): no queues API before 2.3.0");
        }

        return asked;
    }

    private async Task<ImmichResult<TResult>> SendAsync<TResult>(HttpMethod method, string path, HttpContent? content,
        JsonTypeInfo<TResult> body, CancellationToken cancellationToken)
        where TResult : class
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
                if (response.StatusCode == HttpStatusCode.NotFound)
                {
                    Forget();
                }

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
            Forget();
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

    /// <summary>The next call asks the version again: the server may have been replaced while it was away.</summary>
    private void Forget() => Volatile.Write(ref _version, null);

    private Uri BaseUri => new(_options.Url!.EndsWith('/') ? _options.Url : _options.Url + "/");

    private static string StatusText(HttpStatusCode status) => status switch
    {
        HttpStatusCode.Unauthorized => "401 Unauthorized: the API key is not accepted (check Shim__Immich__ApiKey)",
        HttpStatusCode.Forbidden => "403 Forbidden: the API key lacks the permission for this call, or its user is not an admin (docs/power.md lists what each Immich version needs)",
        HttpStatusCode.NotFound => "404 Not Found: this Immich has no such endpoint or queue",
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

    [LoggerMessage(EventId = 711, Level = LogLevel.Information, Message = "Immich {Version}: using {Api}")]
    private static partial void LogVersion(ILogger logger, string version, string api);
}
