using System.Buffers;
using GpuSplit.Shim.Configuration;
using Microsoft.Extensions.Options;

namespace GpuSplit.Shim.Forwarding;

/// <summary>
/// The memory all jobs' spools may hold together (<see cref="ShimOptions.SpoolMemoryBytes"/>), in pooled chunks. A job's
/// body goes to memory while the budget lasts and to its spool file past it: jobs in flight on a healthy box stay in
/// memory (a few hundred KiB each), and a long hold of many jobs spills to disk instead of growing the process.
/// </summary>
public sealed class SpoolMemory(IOptions<ShimOptions> options)
{
    /// <summary>What one chunk holds; a 100 KB Immich preview takes seven.</summary>
    public const int ChunkBytes = 16 * 1024;

    private readonly long _budget = options.Value.SpoolMemoryBytes;
    private long _used;

    /// <summary>Bytes the spools hold now.</summary>
    public long Used => Interlocked.Read(ref _used);

    /// <summary>A chunk, or null when the budget is spent (the job's body then goes on to its file).</summary>
    public byte[]? TryRent()
    {
        if (Interlocked.Add(ref _used, ChunkBytes) > _budget)
        {
            Interlocked.Add(ref _used, -ChunkBytes);
            return null;
        }

        return ArrayPool<byte>.Shared.Rent(ChunkBytes);
    }

    public void Return(byte[] chunk)
    {
        ArrayPool<byte>.Shared.Return(chunk);
        Interlocked.Add(ref _used, -ChunkBytes);
    }
}
