using System.Buffers;
using System.IO.Pipelines;
using Microsoft.Net.Http.Headers;

namespace GpuSplit.Shim.Classification;

/// <summary>
/// Names a <c>/predict</c> request's kind from its <c>entries</c> field, which Immich puts first in the form.
/// Only the start of the body is read, up to the end of that field; it is put back in front of the request body
/// (<see cref="BodyWithStart"/>), the image stays in the request pipe, and the forwarder streams the body on from its
/// first byte.
/// </summary>
public sealed class RequestClassifier
{
    /// <summary>How far into the body the entries field is looked for; Immich's is well under 1 KiB.</summary>
    public const int EntriesWindowBytes = 64 * 1024;

    private const string EntriesField = "entries";

    /// <remarks>
    /// The body is read without a cancellation token: a cancelled read leaves Kestrel's request pipe marked as being
    /// read, and its drain at the end of the request then fails ("Reading is already in progress"). A client that goes
    /// away ends the read anyway, with the exception the caller sees as a hang-up.
    /// </remarks>
    public async Task<RequestClassification> ClassifyPredictAsync(HttpRequest request)
    {
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var contentType)
            || !contentType.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase))
        {
            return RequestClassification.Refused(StatusCodes.Status415UnsupportedMediaType, "not-multipart",
                "/predict takes a multipart/form-data form with an entries field, as Immich sends it");
        }

        var boundary = HeaderUtilities.RemoveQuotes(contentType.Boundary);
        if (boundary.Length is 0 or > MultipartFieldScanner.MaxBoundaryLength)
        {
            return RequestClassification.Refused(StatusCodes.Status400BadRequest, "bad-boundary", "the multipart Content-Type has no valid boundary");
        }

        var (consumed, entries, problem) = await ReadEntriesAsync(request.BodyReader, boundary.Value!);
        // The form's start goes on ahead of the rest of the body: the forwarder streams the body from its first byte.
        request.Body = new BodyWithStart(consumed, request.Body);
        return problem is null ? EntriesClassifier.Classify(entries) : new RequestClassification(MlRequestKind.OtherJob, problem);
    }

    /// <summary>
    /// Reads the form up to the end of its entries field and consumes exactly what it examined: the bytes come back as
    /// <see cref="ReadEntries.Consumed"/>, to be sent on ahead of the rest. Kestrel cannot undo a read of a body whose
    /// last read examined more than it consumed when that read finds the client gone; its drain and its next read on the
    /// connection then fail with "Reading is already in progress".
    /// </summary>
    private static async Task<ReadEntries> ReadEntriesAsync(PipeReader body, string boundary)
    {
        // Almost always the first read holds the entries (Immich sends them first): only those bytes are copied.
        // Otherwise what arrived is kept in a growing copy, up to the window.
        byte[]? kept = null;
        var keptLength = 0;
        while (true)
        {
            var read = await body.ReadAsync();
            var buffer = read.Buffer;
            var room = EntriesWindowBytes - keptLength;
            var fresh = buffer.Length > room ? buffer.Slice(0, room) : buffer;
            ReadOnlyMemory<byte> bytes;
            if (kept is null && fresh.IsSingleSegment)
            {
                bytes = fresh.First;
            }
            else
            {
                kept ??= new byte[EntriesWindowBytes];
                fresh.CopyTo(kept.AsSpan(keptLength));
                bytes = kept.AsMemory(0, keptLength + (int)fresh.Length);
            }

            var scan = MultipartFieldScanner.Find(bytes.Span, boundary, EntriesField);
            // Never less than what an earlier read consumed (the field may end just before where that read stopped).
            var examined = Math.Max(keptLength, scan.Outcome == FieldScanOutcome.Found ? scan.Start + scan.Length : bytes.Length);
            // Copied before the pipe may reuse its memory; what is consumed here is sent on from this copy.
            var consumed = kept is null ? bytes[..examined].ToArray() : kept.AsMemory(0, examined);
            body.AdvanceTo(fresh.GetPosition(examined - keptLength));
            keptLength = examined;

            switch (scan.Outcome)
            {
                case FieldScanOutcome.Found:
                    return new ReadEntries(consumed, consumed.Slice(scan.Start, scan.Length), null);
                case FieldScanOutcome.Absent:
                    return new ReadEntries(consumed, default, Missing("the form has no entries field"));
                case FieldScanOutcome.Malformed:
                    return new ReadEntries(consumed, default, new RequestProblem(StatusCodes.Status400BadRequest, "malformed-form", scan.Problem!));
                case FieldScanOutcome.NeedMore when keptLength >= EntriesWindowBytes:
                    return new ReadEntries(consumed, default,
                        Missing($"no entries field in the first {EntriesWindowBytes / 1024} KiB of the form (Immich sends it first)"));
                case FieldScanOutcome.NeedMore when read.IsCompleted:
                    return new ReadEntries(consumed, default, Missing("the form ended before its entries field did"));
            }

            if (kept is null)
            {
                kept = new byte[EntriesWindowBytes];
                consumed.CopyTo(kept);
            }
        }
    }

    private readonly record struct ReadEntries(ReadOnlyMemory<byte> Consumed, ReadOnlyMemory<byte> Entries, RequestProblem? Problem);

    private static RequestProblem Missing(string detail) =>
        new(StatusCodes.Status422UnprocessableEntity, "missing-entries", detail);
}
