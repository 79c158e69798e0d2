using GpuSplit.Planner.Fit;

namespace GpuSplit.Planner.Tests.Fit;

public sealed class VerdictPolicyTests
{
    private const long Budget = 1000;

    [Theory]
    [InlineData(1001, Verdict.Oom)]
    [InlineData(1000, Verdict.Unstable)]
    [InlineData(901, Verdict.Unstable)]
    [InlineData(900, Verdict.Fits)]
    [InlineData(751, Verdict.Fits)]
    [InlineData(750, Verdict.Comfortable)]
    [InlineData(0, Verdict.Comfortable)]
    public void Boundaries_with_a_ten_percent_headroom(long peak, Verdict expected) =>
        Assert.Equal(expected, VerdictPolicy.Classify(peak, Budget, headroomShare: 0.10));

    [Fact]
    public void Without_headroom_a_full_card_still_fits() =>
        Assert.Equal(Verdict.Fits, VerdictPolicy.Classify(Budget, Budget, headroomShare: 0));

    [Fact]
    public void The_smallest_budget_keeps_the_headroom()
    {
        var smallest = VerdictPolicy.SmallestBudgetThatFits(900, 0.10);
        Assert.Equal(1000, smallest);
        Assert.Equal(Verdict.Fits, VerdictPolicy.Classify(900, smallest, 0.10));
        Assert.Equal(Verdict.Unstable, VerdictPolicy.Classify(900, smallest - 1, 0.10));
    }
}
