using Microsoft.Extensions.Options;

namespace GpuSplit.Shim.Immich;

/// <summary>An API key without a usable server URL is a mistake worth stopping for; no key at all is a choice.</summary>
public sealed class ImmichOptionsValidator : IValidateOptions<ImmichOptions>
{
    public ValidateOptionsResult Validate(string? name, ImmichOptions options)
    {
        if (!options.Enabled)
        {
            return ValidateOptionsResult.Success;
        }

        if (string.IsNullOrWhiteSpace(options.Url))
        {
            return ValidateOptionsResult.Fail("Shim:Immich:Url is missing: the Immich server the API key belongs to, e.g. http://immich-server:2283");
        }

        if (!Uri.TryCreate(options.Url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps)
            || uri.Query.Length > 0 || uri.UserInfo.Length > 0)
        {
            return ValidateOptionsResult.Fail($"Shim:Immich:Url '{options.Url}' is not a plain http:// or https:// URL, e.g. http://immich-server:2283");
        }

        if (options.ApiKey!.Any(char.IsWhiteSpace))
        {
            return ValidateOptionsResult.Fail("Shim:Immich:ApiKey contains spaces; paste the key exactly as Immich showed it");
        }

        if (options.Timeout <= TimeSpan.Zero || options.Timeout > TimeSpan.FromMinutes(5))
        {
            return ValidateOptionsResult.Fail($"Shim:Immich:Timeout must be between 0 and 5 minutes, written like 00:00:10 (it is {options.Timeout})");
        }

        return ValidateOptionsResult.Success;
    }
}
