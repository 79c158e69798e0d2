using System.Text;
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

    public static FieldScan Find(ReadOnlySpan<byte> data, string boundary, string field)
    {
        var delimiter = Encoding.ASCII.GetBytes("--" + boundary);
        // A part's content ends where CRLF and the next delimiter begin.
        var contentEnd = Encoding.ASCII.GetBytes("\r\n--" + boundary);
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

            var name = PartName(data.Slice(at, headersLength));
            if (name is null)
            {
                return new FieldScan(FieldScanOutcome.Malformed, Problem: "a form part has no Content-Disposition name");
            }

            var contentStart = at + headersLength + HeaderEnd.Length;
            var contentLength = data[contentStart..].IndexOf(contentEnd);
            if (contentLength < 0)
            {
                return new FieldScan(FieldScanOutcome.NeedMore);
            }

            if (name == field)
            {
                return new FieldScan(FieldScanOutcome.Found, contentStart, contentLength);
            }

            at = contentStart + contentLength + CrLf.Length;
        }
    }

    private static string? PartName(ReadOnlySpan<byte> headers)
    {
        foreach (var line in Encoding.UTF8.GetString(headers).Split("\r\n"))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0
                && line.AsSpan(0, colon).Trim().Equals(HeaderNames.ContentDisposition, StringComparison.OrdinalIgnoreCase)
                && ContentDispositionHeaderValue.TryParse(line[(colon + 1)..].Trim(), out var disposition)
                && disposition.DispositionType.Equals("form-data", StringComparison.OrdinalIgnoreCase))
            {
                var name = HeaderUtilities.RemoveQuotes(disposition.Name);
                return name.HasValue ? name.Value : null;
            }
        }

        return null;
    }
}
