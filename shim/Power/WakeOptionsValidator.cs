using System.Net;
using Microsoft.Extensions.Options;

namespace GpuSplit.Shim.Power;

/// <summary>Refuses a wake target that could never reach the box, at start-up rather than at the first backlog.</summary>
public sealed class WakeOptionsValidator : IValidateOptions<WakeOnLanOptions>
{
    public ValidateOptionsResult Validate(string? name, WakeOnLanOptions options)
    {
        var errors = new List<string>();
        for (var i = 0; i < options.Upstreams.Count; i++)
        {
            if (options.Upstreams[i].Wake is not { } wake)
            {
                continue;
            }

            var key = $"Shim:Upstreams:{i}:Wake";
            if (!MacAddress.TryParse(wake.Mac, out _))
            {
                errors.Add(string.IsNullOrWhiteSpace(wake.Mac)
                    ? $"{key}:Mac is missing: the GPU box's MAC address ({MacAddress.Formats})"
                    : $"{key}:Mac '{wake.Mac}' is not a MAC address: write it as {MacAddress.Formats}");
            }

            if (!IPAddress.TryParse(wake.Address, out _))
            {
                errors.Add($"{key}:Address '{wake.Address}' is not an IP address: the broadcast address of the GPU box's network, e.g. 255.255.255.255 or 192.168.1.255");
            }

            if (wake.Port is < 1 or > 65535)
            {
                errors.Add($"{key}:Port {wake.Port} is not a UDP port (1-65535; usually 9)");
            }
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
