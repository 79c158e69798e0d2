using GpuSplit.Planner.Catalog;
using GpuSplit.Planner.Cli;
using GpuSplit.Planner.Fit;
using GpuSplit.Planner.Memory;
using GpuSplit.Planner.Units;

namespace GpuSplit.Planner.Tests.Cli;

public sealed class AlternativesWindowTests
{
    private const int Size = 12;

    [Theory]
    [InlineData(4, 1)]
    [InlineData(6, 1)]
    [InlineData(6, 2)]
    [InlineData(24, 1)]
    public void The_plan_is_always_shown_with_the_better_ranked_rows_just_above_it(int gib, int workers)
    {
        var result = Plan(gib, workers);
        var planIndex = IndexOfPlan(result);

        var window = AlternativesWindow.Around(result.Candidates, result.Plan, Size);

        Assert.Equal(Size, window.Rows.Count);
        Assert.Contains(result.Plan, window.Rows);
        var shownAbove = window.Rows.ToList().IndexOf(result.Plan!);
        Assert.Equal(Math.Min(planIndex, Size * 2 / 3), shownAbove);
        Assert.Equal(result.Candidates.Skip(window.HiddenAbove).Take(Size), window.Rows);
        Assert.Equal(result.Candidates.Count, window.HiddenAbove + Size + window.HiddenBelow);
    }

    [Fact]
    public void Without_a_plan_the_best_ranked_rows_are_shown()
    {
        var result = Plan(1, 1);
        Assert.Null(result.Plan);

        var window = AlternativesWindow.Around(result.Candidates, null, Size);

        Assert.Equal(result.Candidates.Take(Size), window.Rows);
        Assert.Equal(0, window.HiddenAbove);
    }

    [Fact]
    public void A_plan_near_the_bottom_fills_the_table_from_above()
    {
        var result = Plan(4, 1);
        var ranked = result.Candidates.Take(IndexOfPlan(result) + 2).ToList();

        var window = AlternativesWindow.Around(ranked, result.Plan, Size);

        Assert.Equal(ranked.TakeLast(Size), window.Rows);
        Assert.Equal(0, window.HiddenBelow);
    }

    private static FitResult Plan(int gib, int workers) => FitPlanner.Plan(new FitRequest(
        CatalogReader.LoadEmbedded(), gib * ByteSize.GiB, workers, 300, 0.10, JobConcurrency.Seed, false, false, null, RuntimeCosts.Cuda));

    private static int IndexOfPlan(FitResult result) => result.Candidates.ToList().IndexOf(result.Plan!);
}
