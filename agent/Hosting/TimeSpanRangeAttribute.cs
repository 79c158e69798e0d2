using System.ComponentModel.DataAnnotations;
using System.Globalization;

namespace GpuSplit.Agent.Hosting;

/// <summary>
/// A <see cref="TimeSpan"/> option between two bounds, inclusive. <c>[Range(typeof(TimeSpan), ...)]</c> converts its
/// bounds through reflection (a TypeConverter looked up at run time), which Native AOT cannot promise; the agent ships
/// native, so its options validator (source-generated) uses this instead. The message is Range's.
/// </summary>
[AttributeUsage(AttributeTargets.Property)]
public sealed class TimeSpanRangeAttribute(string minimum, string maximum)
    : ValidationAttribute("The field {0} must be between {1} and {2}.")
{
    public TimeSpan Minimum { get; } = TimeSpan.Parse(minimum, CultureInfo.InvariantCulture);

    public TimeSpan Maximum { get; } = TimeSpan.Parse(maximum, CultureInfo.InvariantCulture);

    public override bool IsValid(object? value) => value is not TimeSpan span || (span >= Minimum && span <= Maximum);

    public override string FormatErrorMessage(string name) =>
        string.Format(CultureInfo.CurrentCulture, ErrorMessageString, name, minimum, maximum);
}
