using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using GpuSplit.Planner.Catalog;
using GpuSplit.Planner.Fit;

namespace GpuSplit.Planner.Tests.Deploy;

/// <summary>
/// deploy/'s compose files take what depends on the plan from variables that `planner fit` names, and their comments
/// state no plan of their own: a plan written into a comment goes stale the day the catalog or the memory model
/// changes (the GPU box's file once said buffalo_l where the planner said buffalo_m).
/// </summary>
public sealed partial class ComposeFilesTests
{
    private static readonly string[] ComposeFiles = ["deploy/gpu-box/compose.yaml", "deploy/always-on/compose.yaml"];

    [Fact]
    public async Task Fit_prints_and_carries_the_search_fallback_preload_of_its_own_clip_model()
    {
        var json = await PlannerProcess.RunAsync("fit", "--vram", "6GB", "--json");
        var plain = await PlannerProcess.RunAsync("fit", "--vram", "6GB");
        Assert.Equal((0, 0), (json.ExitCode, plain.ExitCode));

        var document = JsonNode.Parse(json.Output)!;
        var clip = (string)document["plan"]!["clip"]!;
        Assert.Equal(clip, (string?)document["immich"]!["searchFallbackEnv"]![ImmichSettings.PreloadClipTextual]);
        Assert.Contains($"  {ImmichSettings.PreloadClipTextual}={clip}\n", plain.Output.ReplaceLineEndings("\n"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_compose_files_read_the_plan_from_variables_the_planner_names_and_no_comment_names_another_model()
    {
        var output = JsonNode.Parse((await PlannerProcess.RunAsync("fit", "--vram", "6GB", "--json")).Output)!;
        var immich = output["immich"]!;
        var named = immich["env"]!.AsObject().Select(p => p.Key).Concat(immich["searchFallbackEnv"]!.AsObject().Select(p => p.Key)).ToHashSet();
        var plan = output["plan"]!;
        var picked = new[] { "clip", "facialRecognition", "ocr" }.Select(k => (string?)plan[k]).OfType<string>().ToHashSet();
        var models = CatalogReader.LoadEmbedded().Models.Select(m => m.Name).ToList();

        foreach (var file in ComposeFiles)
        {
            var lines = await File.ReadAllLinesAsync(Path.Combine(RepositoryRoot(), file), TestContext.Current.CancellationToken);
            foreach (var line in lines.Where(l => !l.TrimStart().StartsWith('#')))
            {
                // A variable for the ML service is one that fit prints.
                foreach (var variable in Variable().Matches(line).Select(m => m.Groups["name"].Value))
                {
                    Assert.True(named.Contains(variable), $"{file} reads ${{{variable}}}, which `planner fit` does not name ({string.Join(", ", named)})");
                }

                // A model is never written into the file: it comes from such a variable.
                if (Setting().Match(line) is { Success: true } setting
                    && (setting.Groups["name"].Value.Contains("PRELOAD", StringComparison.Ordinal) || models.Contains(setting.Groups["value"].Value.Trim('"'))))
                {
                    var name = setting.Groups["name"].Value;
                    Assert.True(Regex.IsMatch(setting.Groups["value"].Value, $@"^""?\$\{{{name}[:}}]"),
                        $"{file} writes {name}: {setting.Groups["value"].Value}; it must come from ${{{name}}}, which `planner fit` prints");
                }
            }

            foreach (var comment in lines.Select(l => l.TrimStart()).Where(l => l.StartsWith('#')))
            {
                foreach (var model in models.Where(m => Regex.IsMatch(comment, $@"(?<![\w-]){Regex.Escape(m)}(?![\w-])")))
                {
                    Assert.True(picked.Contains(model), $"{file} says '{comment}': {model} is not what `planner fit --vram 6GB` picks ({string.Join(", ", picked)})");
                }
            }
        }
    }

    private static string RepositoryRoot()
    {
        for (var folder = new DirectoryInfo(AppContext.BaseDirectory); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, ComposeFiles[0])))
            {
                return folder.FullName;
            }
        }

        throw new FileNotFoundException($"{ComposeFiles[0]} not found above {AppContext.BaseDirectory}");
    }

    [GeneratedRegex(@"\$\{(?<name>MACHINE_LEARNING_[A-Z_]+)")]
    private static partial Regex Variable();

    // An ML service setting in a compose file's environment, e.g. `      MACHINE_LEARNING_WORKERS: ${MACHINE_LEARNING_WORKERS:-1}`.
    [GeneratedRegex(@"^\s+(?<name>MACHINE_LEARNING_[A-Z_]+):\s*(?<value>.*)$")]
    private static partial Regex Setting();
}
