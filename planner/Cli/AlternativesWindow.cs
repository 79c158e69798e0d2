using GpuSplit.Planner.Fit;

namespace GpuSplit.Planner.Cli;

/// <summary>
/// Which candidates the Alternatives table shows: the plan's row always, the better-ranked combinations just above it
/// (why not a better one: the seed story's question), and lower-ranked ones below to fill the table. On a small card
/// or with several workers the plan sits far down the ranking, and the best-ranked rows alone would be all oom.
/// </summary>
/// <param name="Rows">The rows to show, in rank order.</param>
/// <param name="HiddenAbove">Better-ranked candidates left out.</param>
/// <param name="HiddenBelow">Lower-ranked candidates left out.</param>
internal sealed record AlternativesWindow(IReadOnlyList<Candidate> Rows, int HiddenAbove, int HiddenBelow)
{
    public int Hidden => HiddenAbove + HiddenBelow;

    /// <summary>
    /// <paramref name="size"/> rows: up to two thirds of them above the plan, the rest from the plan down; without a
    /// plan, the best-ranked ones.
    /// </summary>
    public static AlternativesWindow Around(IReadOnlyList<Candidate> ranked, Candidate? plan, int size)
    {
        var planIndex = plan is null ? 0 : IndexOf(ranked, plan);
        var above = Math.Min(planIndex, size * 2 / 3);
        var start = Math.Max(0, Math.Min(planIndex - above, ranked.Count - size));
        var rows = ranked.Skip(start).Take(size).ToList();
        return new AlternativesWindow(rows, start, ranked.Count - start - rows.Count);
    }

    private static int IndexOf(IReadOnlyList<Candidate> ranked, Candidate plan)
    {
        for (var i = 0; i < ranked.Count; i++)
        {
            if (ReferenceEquals(ranked[i], plan))
            {
                return i;
            }
        }

        throw new ArgumentException("the plan is not among the candidates", nameof(plan));
    }
}
