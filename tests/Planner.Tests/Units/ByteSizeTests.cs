using GpuSplit.Planner.Units;

namespace GpuSplit.Planner.Tests.Units;

public sealed class ByteSizeTests
{
    [Theory]
    [InlineData("6GB", 6L * 1024 * 1024 * 1024)]
    [InlineData("6GiB", 6L * 1024 * 1024 * 1024)]
    [InlineData("6gb", 6L * 1024 * 1024 * 1024)]
    [InlineData("6144MiB", 6144L * 1024 * 1024)]
    [InlineData("6144M", 6144L * 1024 * 1024)]
    [InlineData("6144 MB", 6144L * 1024 * 1024)]
    [InlineData("5.5G", 5632L * 1024 * 1024)]
    [InlineData("6144", 6144L * 1024 * 1024)]
    [InlineData(" 8192 ", 8192L * 1024 * 1024)]
    [InlineData("256", 256L * 1024 * 1024)]
    [InlineData("6442450944B", 6144L * 1024 * 1024)]
    [InlineData("6144K", 6L * 1024 * 1024)]
    [InlineData("1T", 1024L * 1024 * 1024 * 1024)]
    public void Parses_sizes_with_binary_units(string text, long expected)
    {
        Assert.True(ByteSize.TryParse(text, out var bytes, out var error), error);
        Assert.Equal(expected, bytes);
    }

    [Theory]
    [InlineData("", "is not a size")]
    [InlineData("six GB", "is not a size")]
    [InlineData("-6GB", "is not a size")]
    [InlineData("6XB", "unknown unit")]
    [InlineData("0GB", "larger than zero")]
    [InlineData("0", "larger than zero")]
    [InlineData("6", "'6' without a unit is 6 MiB, too small for a card; did you mean 6GB?")]
    [InlineData("5.5", "did you mean 5.5GB?")]
    [InlineData("255", "did you mean 255GB?")]
    [InlineData("99999999999999999999999999999999GB", "too large")]
    [InlineData("9999999999999TB", "too large")]
    public void Rejects_what_is_not_a_size_and_says_why(string text, string reason)
    {
        Assert.False(ByteSize.TryParse(text, out _, out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', error);
    }

    [Fact]
    public void Rounds_to_whole_MiB_for_display()
    {
        Assert.Equal(335, ByteSize.ToMiB(351_000_000));
        Assert.Equal("6,144 MiB", ByteSize.FormatMiB(6 * ByteSize.GiB));
    }

    [Theory]
    [InlineData("10%", 0.10)]
    [InlineData("10", 0.10)]
    [InlineData("0.1", 0.10)]
    [InlineData("0%", 0.0)]
    public void Parses_percentages(string text, double expected)
    {
        Assert.True(Percent.TryParse(text, out var share, out var error), error);
        Assert.Equal(expected, share, 6);
    }

    [Theory]
    [InlineData("100%")]
    [InlineData("-5%")]
    [InlineData("ten")]
    public void Rejects_bad_percentages(string text) => Assert.False(Percent.TryParse(text, out _, out _));
}
