namespace GpuSplit.MlStandIn.Control;

/// <summary>A failure or behaviour the stand-in can be told to show, written <c>name</c> or <c>name:argument</c>.</summary>
public sealed record StandInAction(string Name, string? Argument)
{
    public static readonly IReadOnlySet<string> Names = new HashSet<string>(StringComparer.Ordinal)
    {
        "cuda-oom", "no-kernel-image", "oom-kill", "exit", "ping-fail", "ping-ok", "delay", "log",
    };

    public static bool TryParse(string text, out StandInAction action)
    {
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        var name = colon < 0 ? text : text[..colon];
        action = new StandInAction(name, colon < 0 ? null : text[(colon + 1)..]);
        return Names.Contains(name);
    }
}
