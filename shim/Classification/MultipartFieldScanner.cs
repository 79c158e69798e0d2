using System.Text;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace GpuSplit.Shim.Classification;

/// <summary>What a scan of the start of a multipart body found.</summary>
public enum FieldScanOutcome
{
    /// <summary>The bytes so far end before the field does.</summary>
    NeedMore,
    Found,
    /// <summary>The form's closing delimiter came first: the field is not there.</summary>
    Absent,
    Malformed,
}

public readonly record struct FieldScan(FieldScanOutcome Outcome, int Start = 0, int Length = 0, string? Problem = null);

/// <summary>
/// Finds one text field in the first bytes of a multipart/form-data body (RFC 7578), skipping earlier parts
/// whole. Works on what has arrived so far and says when it needs more, so the body can stay in the request
/// pipe for the forwarder.
/// </summary>
public static class MultipartFieldScanner
{
    private static ReadOnlySpan<byte> CrLf => "\r\n"u8;
    private static ReadOnlySpan<byte> HeaderEnd => "\r\n\r\n"u8;

    /// <summary>The longest boundary RFC 2046 allows.</summary>
    public const int MaxBoundaryLength = 70;

    public static FieldScan Find(ReadOnlySpan<byte> data, string boundary, string field)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(boundary.Length, MaxBoundaryLength);
        // A part's content ends where CRLF and the next delimiter begin; the delimiter is the same bytes without the CRLF.
        // On the stack: this runs once per request.
        Span<byte> contentEnd = stackalloc byte[4 + MaxBoundaryLength];
        "\r\n--"u8.CopyTo(contentEnd);
        contentEnd = contentEnd[..(4 + Encoding.ASCII.GetBytes(boundary, contentEnd[4..]))];
        ReadOnlySpan<byte> delimiter = contentEnd[2..];
        var at = data.IndexOf(delimiter);
        if (at < 0)
        {
            return new FieldScan(FieldScanOutcome.NeedMore);
        }

        while (true)
        {
            at += delimiter.Length;
            if (data.Length < at + 2)
            {
                return new FieldScan(FieldScanOutcome.NeedMore);
            }

            if (data.Slice(at, 2).SequenceEqual("--"u8))
            {
                return new FieldScan(FieldScanOutcome.Absent);
            }

            if (!data.Slice(at, 2).SequenceEqual(CrLf))
            {
                return new FieldScan(FieldScanOutcome.Malformed, Problem: "a multipart boundary line does not end with CRLF");
            }

            at += 2;
            var headersLength = data[at..].IndexOf(HeaderEnd);
            if (headersLength < 0)
            {
                return new FieldScan(FieldScanOutcome.NeedMore);
            }

            if (!TryPartName(data.Slice(at, headersLength), out var name))
            {
                return new FieldScan(FieldScanOutcome.Malformed, Problem: "a form part has no Content-Disposition name");
            }

            var contentStart = at + headersLength + HeaderEnd.Length;
            var contentLength = data[contentStart..].IndexOf(contentEnd);
            if (contentLength < 0)
            {
                return new FieldScan(FieldScanOutcome.NeedMore);
            }

            if (name.Equals(field, StringComparison.Ordinal))
            {
                return new FieldScan(FieldScanOutcome.Found, contentStart, contentLength);
            }

            at = contentStart + contentLength + CrLf.Length;
        }
    }

    /// <summary>The part's name from its Content-Disposition header; false when it has none.</summary>
    private static bool TryPartName(ReadOnlySpan<byte> headers, out StringSegment name)
    {
        // Only the Content-Disposition line becomes a string, for the header parser; the others are looked at as bytes.
        foreach (var range in headers.Split(CrLf))
        {
            var line = headers[range];
            var colon = line.IndexOf((byte)':');
            if (colon > 0
                && Ascii.EqualsIgnoreCase(line[..colon].Trim(" \t"u8), ContentDisposition)
                && ContentDispositionHeaderValue.TryParse(Encoding.UTF8.GetString(line[(colon + 1)..]).Trim(), out var disposition)
                && disposition.DispositionType.Equals("form-data", StringComparison.OrdinalIgnoreCase))
            {
                name = HeaderUtilities.RemoveQuotes(disposition.Name);
                return name.HasValue;
            }
        }

        name = default;
        return false;
    }

    private static ReadOnlySpan<byte> ContentDisposition => "Content-Disposition"u8;
}
