namespace GpuSplit.Testing;

/// <summary>
/// What a test does when a real part it needs (Docker, gcc, nginx, a model file) is missing: under CI the
/// test fails, because a skipped test proves nothing; on a developer's machine it is skipped with the reason.
/// </summary>
public static class RequiredPart
{
    public static bool IsCi =>
        string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    /// <summary>Fails under CI, skips elsewhere, when <paramref name="available"/> is false.</summary>
    public static void Require(bool available, string part)
    {
        if (available)
        {
            return;
        }

        if (IsCi)
        {
            Assert.Fail($"{part} is required under CI=true and was not found");
        }

        Assert.Skip($"{part} not found (set up the test host with scripts/setup-test-host.sh)");
    }
}
