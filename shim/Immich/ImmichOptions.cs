namespace GpuSplit.Shim.Immich;

/// <summary>
/// The Immich server's own API (<c>Shim:Immich</c>), used to read its job queues, pause and resume the ML queues
/// and press "Missing". Without an API key these features are off.
/// </summary>
public sealed class ImmichOptions
{
    public const string Section = "Shim:Immich";

    /// <summary>The Immich server, e.g. <c>http://immich-server:2283</c>; <c>/api/...</c> is appended.</summary>
    public string? Url { get; set; }

    /// <summary>An admin's API key with the permissions its Immich version needs (docs/power.md; Immich: Account settings, API keys); never shown.</summary>
    public string? ApiKey { get; set; }

    /// <summary>A call that takes longer counts as failed; the loop tries again at its next turn.</summary>
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    public bool Enabled => !string.IsNullOrWhiteSpace(ApiKey);

    /// <summary>The sentence the status page shows while the features are off.</summary>
    public const string DisabledReason = "Immich API key not configured (Shim__Immich__ApiKey): no queue backlog, pause, resume or Missing";
}
