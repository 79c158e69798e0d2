using GpuSplit.Shim.Configuration;
using Microsoft.Extensions.Options;

namespace GpuSplit.Shim.Admission;

/// <summary>
/// Bounds how many background jobs wait for a GPU box at once. A waiting request holds a connection and a
/// little memory on a small always-on box, so past the cap a job is refused (and counted lost) rather than held.
/// </summary>
public sealed class HoldQueue(IOptions<ShimOptions> options)
{
    private int _held;

    public int Capacity { get; } = options.Value.MaxHeldRequests;

    public int Count => Volatile.Read(ref _held);

    public bool TryEnter()
    {
        while (true)
        {
            var held = Volatile.Read(ref _held);
            if (held >= Capacity)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _held, held + 1, held) == held)
            {
                return true;
            }
        }
    }

    public void Leave() => Interlocked.Decrement(ref _held);
}
