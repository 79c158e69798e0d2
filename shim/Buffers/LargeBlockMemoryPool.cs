using System.Buffers;
using System.Collections.Concurrent;
using Microsoft.AspNetCore.Connections;

namespace GpuSplit.Shim.Buffers;

/// <summary>
/// Kestrel's buffers in 32 KiB blocks instead of its own 4 KiB ones. Kestrel receives into one block per read, so a
/// 100 KB Immich preview took 27 reads from the client's socket (and as many small writes to the box's); with 32 KiB
/// blocks it takes 4, as nginx reads with its 16 KiB body buffer. System calls are most of a proxy's CPU on a small
/// box (docs/shim.md, "Resources"). Up to <see cref="KeptBlocks"/> blocks are pinned (the socket reads into them
/// without pinning each time) and pooled; an idle connection holds none (Kestrel waits for data before it rents).
/// </summary>
/// <remarks>
/// A burst past that gets ordinary blocks, dropped when returned. Pinned blocks live in the pinned object heap, which
/// only a full collection frees, and an idle shim makes none: 64 connections' worth of dropped pinned blocks kept the
/// process at 120 MiB after the burst, where ordinary blocks die young and go at the next small collection.
/// </remarks>
public sealed class LargeBlockMemoryPool : MemoryPool<byte>
{
    public const int BlockSize = 32 * 1024;

    /// <summary>At most 4 MiB kept for reuse: more than 8 busy connections need, little to keep when they are gone.</summary>
    public const int KeptBlocks = 128;

    private readonly ConcurrentQueue<Block> _free = new();
    private int _pinned;

    public override int MaxBufferSize => BlockSize;

    /// <summary>A block; a larger size than a block is never asked for (a pipe takes such memory from its array pool).</summary>
    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minBufferSize, BlockSize);
        if (_free.TryDequeue(out var block))
        {
            return block;
        }

        var kept = Interlocked.Increment(ref _pinned) <= KeptBlocks;
        if (!kept)
        {
            Interlocked.Decrement(ref _pinned);
        }

        return new Block(kept ? this : null);
    }

    protected override void Dispose(bool disposing) => _free.Clear();

    /// <param name="pool">Null for a burst's block: not pinned, not kept.</param>
    private sealed class Block(LargeBlockMemoryPool? pool) : IMemoryOwner<byte>
    {
        public Memory<byte> Memory { get; } = GC.AllocateUninitializedArray<byte>(BlockSize, pinned: pool is not null);

        public void Dispose() => pool?._free.Enqueue(this);
    }
}

/// <summary>Gives Kestrel's transport <see cref="LargeBlockMemoryPool"/>s (it asks through this interface since .NET 10).</summary>
public sealed class LargeBlockMemoryPoolFactory : IMemoryPoolFactory<byte>
{
    public MemoryPool<byte> Create(MemoryPoolOptions? options = null) => new LargeBlockMemoryPool();
}
