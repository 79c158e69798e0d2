using System.Diagnostics;
using System.Net;
using System.Text.RegularExpressions;
using GpuSplit.Testing;

namespace GpuSplit.Shim.Tests.Infrastructure;

/// <summary>Debian's Chromium, headless: loads a page, runs its scripts, and returns what a person would read.</summary>
public static partial class HeadlessChromium
{
    private const string Binary = "/usr/bin/chromium";

    /// <returns>The text of the page after its scripts ran (script and style elements left out).</returns>
    public static async Task<string> RenderedTextAsync(Uri page)
    {
        RequiredPart.Require(File.Exists(Binary), "Chromium (/usr/bin/chromium)");
        var profile = Directory.CreateTempSubdirectory("shim-chromium-");
        try
        {
            var start = new ProcessStartInfo(Binary)
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var arg in new[]
            {
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-proxy-server",
                $"--user-data-dir={profile.FullName}", "--dump-dom", page.ToString(),
            })
            {
                start.ArgumentList.Add(arg);
            }

            using var chromium = Process.Start(start)!;
            var stdout = chromium.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
            var stderr = chromium.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
            using var limit = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
            limit.CancelAfter(TimeSpan.FromSeconds(90));
            try
            {
                await chromium.WaitForExitAsync(limit.Token);
            }
            catch (OperationCanceledException)
            {
                chromium.Kill(entireProcessTree: true);
                throw;
            }

            var dom = await stdout;
            Assert.True(chromium.ExitCode == 0 && dom.Length > 0, $"chromium exited {chromium.ExitCode}: {await stderr}");
            return VisibleText(dom);
        }
        finally
        {
            profile.Delete(recursive: true);
        }
    }

    private static string VisibleText(string dom)
    {
        var withoutCode = ScriptOrStyle().Replace(dom, " ");
        var text = WebUtility.HtmlDecode(Tag().Replace(withoutCode, " "));
        return Whitespace().Replace(text, " ").Trim();
    }

    [GeneratedRegex("<(script|style)\\b[^>]*>.*?</\\1>", RegexOptions.Singleline | RegexOptions.IgnoreCase)]
    private static partial Regex ScriptOrStyle();

    [GeneratedRegex("<[^>]+>")]
    private static partial Regex Tag();

    [GeneratedRegex("\\s+")]
    private static partial Regex Whitespace();
}
