using System.Buffers;
using System.IO.Pipelines;
using Microsoft.Net.Http.Headers;

namespace GpuSplit.Shim.Classification;

/// <summary>
/// Names a <c>/predict</c> request's kind from its <c>entries</c> field, which Immich puts first in the form.
/// Only the start of the body is looked at and nothing is consumed: the image stays in the request pipe and
/// the forwarder streams the body on from its first byte.
/// </summary>
public sealed class RequestClassifier
{
    /// <summary>How far into the body the entries field is looked for; Immich's is well under 1 KiB.</summary>
    public const int EntriesWindowBytes = 64 * 1024;

    private const string EntriesField = "entries";

    public async Task<RequestClassification> ClassifyPredictAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var contentType)
            || !contentType.MediaType.Equals("multipart/form-data", StringComparison.OrdinalIgnoreCase))
        {
            return RequestClassification.Refused(StatusCodes.Status415UnsupportedMediaType, "not-multipart",
                "/predict takes a multipart/form-data form with an entries field, as Immich sends it");
        }

        var boundary = HeaderUtilities.RemoveQuotes(contentType.Boundary);
        if (boundary.Length is 0 or > 70)
        {
            return RequestClassification.Refused(StatusCodes.Status400BadRequest, "bad-boundary", "the multipart Content-Type has no valid boundary");
        }

        var (entries, problem) = await PeekEntriesAsync(request.BodyReader, boundary.Value!, cancellationToken);
        return problem is null ? EntriesClassifier.Classify(entries) : new RequestClassification(MlRequestKind.OtherJob, problem);
    }

    private static async Task<(ReadOnlyMemory<byte> Entries, RequestProblem? Problem)> PeekEntriesAsync(
        PipeReader body, string boundary, CancellationToken cancellationToken)
    {
        while (true)
        {
            var read = await body.ReadAsync(cancellationToken);
            var buffer = read.Buffer;
            // Immich's entries field sits in the first of Kestrel's 4 KiB segments: scanned where it lies. Only a
            // field that runs past it is scanned in a copy of the window (copying the window every time cost an image
            // job 64 KiB of garbage: the benchmark's allocation rate, bench/RESULTS.md).
            ReadOnlyMemory<byte> bytes = buffer.First.Length > EntriesWindowBytes ? buffer.First[..EntriesWindowBytes] : buffer.First;
            var scan = MultipartFieldScanner.Find(bytes.Span, boundary, EntriesField);
            if (scan.Outcome == FieldScanOutcome.NeedMore && !buffer.IsSingleSegment && bytes.Length < EntriesWindowBytes)
            {
                bytes = BuffersExtensions.ToArray(buffer.Length > EntriesWindowBytes ? buffer.Slice(0, EntriesWindowBytes) : buffer);
                scan = MultipartFieldScanner.Find(bytes.Span, boundary, EntriesField);
            }
            // Copied before the pipe may reuse its memory.
            var entries = scan.Outcome == FieldScanOutcome.Found ? bytes.Slice(scan.Start, scan.Length).ToArray() : default;
            // Examined all, consumed nothing: the next read waits for new bytes, and the forwarder starts at byte 0.
            body.AdvanceTo(buffer.Start, buffer.End);

            switch (scan.Outcome)
            {
                case FieldScanOutcome.Found:
                    return (entries, null);
                case FieldScanOutcome.Absent:
                    return (default, Missing("the form has no entries field"));
                case FieldScanOutcome.Malformed:
                    return (default, new RequestProblem(StatusCodes.Status400BadRequest, "malformed-form", scan.Problem!));
                case FieldScanOutcome.NeedMore when buffer.Length >= EntriesWindowBytes:
                    return (default, Missing($"no entries field in the first {EntriesWindowBytes / 1024} KiB of the form (Immich sends it first)"));
                case FieldScanOutcome.NeedMore when read.IsCompleted:
                    return (default, Missing("the form ended before its entries field did"));
            }
        }
    }

    private static RequestProblem Missing(string detail) =>
        new(StatusCodes.Status422UnprocessableEntity, "missing-entries", detail);
}
