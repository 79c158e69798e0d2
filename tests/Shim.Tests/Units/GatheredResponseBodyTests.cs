using System.IO.Pipelines;
using GpuSplit.Shim.Forwarding;
using Microsoft.AspNetCore.Http.Features;

namespace GpuSplit.Shim.Tests.Units;

public sealed class GatheredResponseBodyTests
{
    [Fact]
    public async Task Writes_gather_unsent_after_the_start_until_the_flush_then_leave_together()
    {
        var kestrel = new PipeResponse();
        var body = new GatheredResponseBody(kestrel);

        await body.WriteAsync(Bytes(3_700), Ct);
        await body.WriteAsync(Bytes(2_200), Ct);

        Assert.Equal(1, kestrel.Starts);
        Assert.False(kestrel.Reader.TryRead(out _));
        await body.FlushAsync(Ct);
        Assert.True(kestrel.Reader.TryRead(out var sent));
        Assert.Equal(5_900, sent.Buffer.Length);
    }

    [Fact]
    public async Task A_flush_with_nothing_written_neither_starts_nor_sends_the_response()
    {
        // The forwarder may still replace a response nothing was written to (a suppressed error, an empty answer).
        var kestrel = new PipeResponse();
        var body = new GatheredResponseBody(kestrel);

        await body.FlushAsync(Ct);

        Assert.Equal(0, kestrel.Starts);
        Assert.False(kestrel.Reader.TryRead(out _));
    }

    [Fact]
    public async Task A_large_answer_is_sent_as_each_flush_size_gathers()
    {
        var kestrel = new PipeResponse();
        var body = new GatheredResponseBody(kestrel);

        await body.WriteAsync(Bytes(GatheredResponseBody.FlushBytes - 1), Ct);
        Assert.False(kestrel.Reader.TryRead(out _));
        await body.WriteAsync(Bytes(1), Ct);

        Assert.True(kestrel.Reader.TryRead(out var sent));
        Assert.Equal(GatheredResponseBody.FlushBytes, sent.Buffer.Length);
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static byte[] Bytes(int count) => new byte[count];

    /// <summary>Kestrel's response body as the gathered body uses it: a pipe whose reader sees only what was flushed.</summary>
    private sealed class PipeResponse : IHttpResponseBodyFeature
    {
        private readonly Pipe _pipe = new(new PipeOptions(pauseWriterThreshold: 0));

        public int Starts { get; private set; }

        public PipeReader Reader => _pipe.Reader;

        public PipeWriter Writer => _pipe.Writer;

        public Stream Stream => throw new NotSupportedException();

        public void DisableBuffering()
        {
        }

        public Task StartAsync(CancellationToken cancellationToken = default)
        {
            Starts++;
            return Task.CompletedTask;
        }

        public Task SendFileAsync(string path, long offset, long? count, CancellationToken cancellationToken = default) =>
            throw new NotSupportedException();

        public Task CompleteAsync() => throw new NotSupportedException();
    }
}
