namespace GpuSplit.Shim.Immich;

/// <summary>
/// The three calls the power loop makes to Immich's API, in the shapes of the queues API whichever API the server has.
/// Failures come back as results, never as exceptions.
/// </summary>
public interface IImmichApi
{
    /// <summary>False without an API key: every call then answers <see cref="ImmichOptions.DisabledReason"/>.</summary>
    bool Enabled { get; }

    Task<ImmichResult<IReadOnlyList<QueueResponse>>> GetQueuesAsync(CancellationToken cancellationToken);

    Task<ImmichResult<QueueResponse>> SetPausedAsync(string queue, bool paused, CancellationToken cancellationToken);

    /// <summary>"Missing" for <paramref name="queue"/>: <c>PUT /api/jobs/{queue}</c> with start, not forced.</summary>
    Task<ImmichResult<QueueResponseLegacy>> StartMissingAsync(string queue, CancellationToken cancellationToken);
}

/// <summary>A value, or a sentence saying why there is none (for the status page and the log).</summary>
public sealed record ImmichResult<T>(T? Value, string? Error)
    where T : class
{
    public bool Succeeded => Error is null;

    public static ImmichResult<T> Ok(T value) => new(value, null);

    public static ImmichResult<T> Failed(string error) => new(null, error);

    /// <summary>The value in another shape; a failure stays the same failure.</summary>
    public ImmichResult<TOther> Map<TOther>(Func<T, TOther> shape)
        where TOther : class =>
        Value is { } value ? ImmichResult<TOther>.Ok(shape(value)) : ImmichResult<TOther>.Failed(Error!);
}
