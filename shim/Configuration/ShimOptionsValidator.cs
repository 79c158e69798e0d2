using Microsoft.Extensions.Options;

namespace GpuSplit.Shim.Configuration;

/// <summary>Refuses a configuration the shim cannot run with, naming the key to fix.</summary>
public sealed class ShimOptionsValidator : IValidateOptions<ShimOptions>
{
    private static readonly TimeSpan OneDay = TimeSpan.FromDays(1);

    public ValidateOptionsResult Validate(string? name, ShimOptions options)
    {
        var errors = new List<string>();
        if (options.Upstreams.Count == 0)
        {
            errors.Add("no GPU box configured: set Shim__Upstreams__0__Url and Shim__Upstreams__0__Agent");
        }

        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < options.Upstreams.Count; i++)
        {
            var upstream = options.Upstreams[i];
            var key = $"Shim:Upstreams:{i}";
            var url = CheckHttpUrl(upstream.Url, $"{key}:Url", "the Immich ML service on the GPU box, e.g. http://gpu-box:3003", errors);
            CheckHttpUrl(upstream.Agent, $"{key}:Agent", "the GPU box's agent, e.g. http://gpu-box:3004", errors);
            if (upstream.Token is { } token && (token.Length == 0 || token.Any(char.IsWhiteSpace)))
            {
                errors.Add($"{key}:Token must be a non-empty value without spaces");
            }

            if (url is not null && !names.Add(UpstreamNaming.NameOf(upstream, url)))
            {
                errors.Add($"{key}:Name '{UpstreamNaming.NameOf(upstream, url)}' is used by two GPU boxes");
            }
        }

        if (!string.IsNullOrEmpty(options.SearchFallback.Url))
        {
            CheckHttpUrl(options.SearchFallback.Url, "Shim:SearchFallback:Url", "a CPU Immich ML service for search queries, e.g. http://immich-machine-learning-cpu:3003", errors);
        }

        if (options.Status.Token is { Length: > 0 } statusToken && statusToken.Any(char.IsWhiteSpace))
        {
            errors.Add("Shim:Status:Token must be a value without spaces (or empty: the status pages stay open)");
        }

        CheckSpan(options.HoldLimit, "Shim:HoldLimit", errors);
        CheckSpan(options.SearchRetryAfter, "Shim:SearchRetryAfter", errors);
        CheckSpan(options.ConnectTimeout, "Shim:ConnectTimeout", errors);
        CheckSpan(options.ResponseTimeout, "Shim:ResponseTimeout", errors);
        CheckSpan(options.AgentWatch.ConnectTimeout, "Shim:AgentWatch:ConnectTimeout", errors);
        CheckPing(options.AgentWatch.KeepAliveInterval, "Shim:AgentWatch:KeepAliveInterval", errors);
        CheckPing(options.AgentWatch.KeepAliveTimeout, "Shim:AgentWatch:KeepAliveTimeout", errors);
        CheckSpan(options.AgentWatch.ReconnectDelay, "Shim:AgentWatch:ReconnectDelay", errors);
        CheckSpan(options.AgentWatch.ReconnectMaxDelay, "Shim:AgentWatch:ReconnectMaxDelay", errors);
        if (options.AgentWatch.MissedHeartbeats < 0)
        {
            errors.Add("Shim:AgentWatch:MissedHeartbeats must be 0 (rely on HTTP/2 pings alone) or more");
        }

        if (options.MaxHeldRequests < 0)
        {
            errors.Add("Shim:MaxHeldRequests must be 0 (no holding) or more");
        }

        if (options.SpoolMemoryBytes < 0)
        {
            errors.Add($"Shim:SpoolMemoryBytes must be 0 or more (got {options.SpoolMemoryBytes})");
        }

        if (string.IsNullOrWhiteSpace(options.SpoolDirectory))
        {
            errors.Add("Shim:SpoolDirectory must name a folder the shim can write to (background jobs' bodies are kept there while forwarded)");
        }

        if (options.MaxRequestBodyBytes <= 0)
        {
            errors.Add("Shim:MaxRequestBodyBytes must be a positive number of bytes");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static Uri? CheckHttpUrl(string value, string key, string example, List<string> errors)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            errors.Add($"{key} is missing: {example}");
            return null;
        }

        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            errors.Add($"{key} '{value}' is not an http:// or https:// URL: {example}");
            return null;
        }

        if (uri.Query.Length > 0 || uri.Fragment.Length > 0 || uri.UserInfo.Length > 0)
        {
            errors.Add($"{key} must be a plain URL without credentials, query or fragment: {example}");
            return null;
        }

        return uri;
    }

    // .NET's HTTP/2 pings refuse anything under a second.
    private static void CheckPing(TimeSpan value, string key, List<string> errors)
    {
        if (value < TimeSpan.FromSeconds(1) || value > OneDay)
        {
            errors.Add($"{key} must be a duration between 1 s and one day, written like 00:00:02 (it is {value})");
        }
    }

    // TimeSpan binding reads "240" as 240 days; the range check turns that mistake into a clear message.
    private static void CheckSpan(TimeSpan value, string key, List<string> errors)
    {
        if (value <= TimeSpan.Zero || value > OneDay)
        {
            errors.Add($"{key} must be a duration between 0 and one day, written like 00:04:00 (it is {value})");
        }
    }
}
