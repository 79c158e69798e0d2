using System.Text.RegularExpressions;
using GpuSplit.Shim.Configuration;
using GpuSplit.Shim.Immich;
using GpuSplit.Shim.Power;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace GpuSplit.Shim.Tests.Power;

/// <summary>
/// deploy/always-on/compose.yaml cannot be started here (no registry); what it tells the shim, the commented-out
/// lines included, is read by the shim itself, so the file cannot drift from the configuration keys unnoticed.
/// </summary>
public sealed partial class AlwaysOnComposeTests
{
    [Fact]
    public async Task Every_shim_setting_in_the_compose_file_is_accepted_and_lands_where_it_should()
    {
        var compose = await File.ReadAllTextAsync(ComposePath(), TestContext.Current.CancellationToken);
        var settings = Setting().Matches(compose)
            .Select(m => (Key: m.Groups["key"].Value.Replace("__", ":", StringComparison.Ordinal), Value: Placeholder().Replace(m.Groups["value"].Value.Trim('"'), "sample-key")))
            .ToArray();

        Assert.Contains(settings, s => s.Key == "Shim:Upstreams:0:Wake:Mac");
        Assert.Contains(settings, s => s.Key == "Shim:Immich:ApiKey");
        await using var app = ShimApplication.Build(["--urls=http://127.0.0.1:0", .. settings.Select(s => $"--{s.Key}={s.Value}")]);

        Assert.Equal("http://immich-machine-learning-cpu:3003", app.Services.GetRequiredService<IOptions<ShimOptions>>().Value.SearchFallback.Url);
        Assert.True(app.Services.GetRequiredService<IImmichApi>().Enabled);
        Assert.Equal("aa:bb:cc:dd:ee:ff via 255.255.255.255:9", WakeTarget.From(app.Services.GetRequiredService<IOptions<WakeOnLanOptions>>().Value.Upstreams[0].Wake!).ToString());
        Assert.Equal(50, app.Services.GetRequiredService<IOptions<PowerOptions>>().Value.BacklogThreshold);
    }

    [Fact]
    public async Task The_search_fallback_service_preloads_only_the_textual_clip_model()
    {
        var compose = await File.ReadAllTextAsync(ComposePath(), TestContext.Current.CancellationToken);
        var service = compose[compose.IndexOf("\n  immich-machine-learning-cpu:", StringComparison.Ordinal)..];

        // The model is the plan's CLIP, from .env (planner fit prints the line); tests/Planner.Tests/Deploy checks the name.
        Assert.Contains("MACHINE_LEARNING_PRELOAD__CLIP__TEXTUAL: \"${MACHINE_LEARNING_PRELOAD__CLIP__TEXTUAL:?", service, StringComparison.Ordinal);
        Assert.DoesNotContain("PRELOAD__CLIP__VISUAL", service, StringComparison.Ordinal);
        Assert.DoesNotContain("PRELOAD__FACIAL", service, StringComparison.Ordinal);
        Assert.DoesNotContain("PRELOAD__OCR", service, StringComparison.Ordinal);
        Assert.Contains("Shim__SearchFallback__Url: http://immich-machine-learning-cpu:3003", compose, StringComparison.Ordinal);
    }

    private static string ComposePath()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            var path = Path.Combine(folder.FullName, "deploy", "always-on", "compose.yaml");
            if (File.Exists(path))
            {
                return path;
            }
        }

        throw new FileNotFoundException("deploy/always-on/compose.yaml not found above " + AppContext.BaseDirectory);
    }

    // An environment line of the shim's service, also when commented out: "      # Shim__A__B: value".
    [GeneratedRegex(@"^\s*(?:#\s*)?(?<key>Shim__[A-Za-z0-9_]+):\s*(?<value>\S.*?)\s*$", RegexOptions.Multiline)]
    private static partial Regex Setting();

    [GeneratedRegex(@"\$\{[A-Z_]+\}")]
    private static partial Regex Placeholder();
}
