namespace GpuSplit.Testing.Processes;

/// <summary>Bounded polling for conditions that a real part reaches in its own time.</summary>
public static class Waiting
{
    /// <summary>
    /// Polls <paramref name="condition"/> until it is true; throws <see cref="TimeoutException"/> with
    /// <paramref name="what"/> and the last observation when <paramref name="timeout"/> passes.
    /// </summary>
    public static async Task<T> UntilAsync<T>(Func<Task<T>> observe, Func<T, bool> condition, TimeSpan timeout, string what,
        TimeSpan? interval = null, CancellationToken cancellationToken = default)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        T last;
        while (true)
        {
            last = await observe();
            if (condition(last))
            {
                return last;
            }

            if (clock.Elapsed >= timeout)
            {
                throw new TimeoutException($"timed out after {timeout.TotalSeconds:0.#} s waiting for {what}; last seen: {last}");
            }

            await Task.Delay(interval ?? TimeSpan.FromMilliseconds(100), cancellationToken);
        }
    }
}
