using Microsoft.Extensions.Options;

namespace GpuSplit.Shim.Power;

public sealed class PowerOptionsValidator : IValidateOptions<PowerOptions>
{
    public ValidateOptionsResult Validate(string? name, PowerOptions options)
    {
        var errors = new List<string>();
        if (options.BacklogThreshold < 1)
        {
            errors.Add($"Shim:Power:BacklogThreshold must be 1 or more jobs (it is {options.BacklogThreshold})");
        }

        CheckSpan(options.WakeInterval, "Shim:Power:WakeInterval", errors);
        CheckSpan(options.WakeGiveUpAfter, "Shim:Power:WakeGiveUpAfter", errors);
        CheckSpan(options.WakeRetryAfterGiveUp, "Shim:Power:WakeRetryAfterGiveUp", errors);
        CheckSpan(options.PollInterval, "Shim:Power:PollInterval", errors);
        CheckSpan(options.IdleTime, "Shim:Power:IdleTime", errors);
        CheckSpan(options.SleepRetryInterval, "Shim:Power:SleepRetryInterval", errors);
        var quiet = options.QuietHours;
        if ((quiet.Start is null) != (quiet.End is null))
        {
            errors.Add("Shim:Power:QuietHours needs both Start and End (local times like 23:00 and 07:00), or neither");
        }
        else if (quiet.Configured && quiet.Start == quiet.End)
        {
            errors.Add("Shim:Power:QuietHours Start and End are the same time: leave both unset for no quiet hours");
        }

        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    // TimeSpan binding reads "30" as 30 days; the range check turns that mistake into a clear message.
    private static void CheckSpan(TimeSpan value, string key, List<string> errors)
    {
        if (value <= TimeSpan.Zero || value > TimeSpan.FromDays(1))
        {
            errors.Add($"{key} must be a duration between 0 and one day, written like 00:01:00 (it is {value})");
        }
    }
}
