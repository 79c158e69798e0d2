using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace GpuSplit.Shim.Tests.Infrastructure;

/// <summary>One log entry a shim under test wrote: its category, event id (the shim's [LoggerMessage] ids), level and message.</summary>
public sealed record LogEntry(string Category, int EventId, LogLevel Level, string Message, Exception? Exception)
{
    public override string ToString() => $"{Level} {Category}[{EventId}]: {Message}{(Exception is null ? "" : $" [{Exception}]")}";
}

/// <summary>Keeps what a shim under test logs, so a test can say what must be in it, or not (Kestrel's own errors).</summary>
public sealed class CapturedLogs : ILoggerProvider
{
    private readonly ConcurrentQueue<LogEntry> _entries = new();

    public IReadOnlyList<LogEntry> Entries => [.. _entries];

    /// <summary>What Kestrel logged with an exception, e.g. "Connection processing ended abnormally" (two readers on one body).</summary>
    public IReadOnlyList<LogEntry> KestrelErrors =>
        [.. _entries.Where(e => e.Category.StartsWith("Microsoft.AspNetCore.Server.Kestrel", StringComparison.Ordinal) && e.Exception is not null)];

    /// <summary>The entries with this event id.</summary>
    public IReadOnlyList<LogEntry> WithEventId(int eventId) => [.. _entries.Where(e => e.EventId == eventId)];

    public ILogger CreateLogger(string categoryName) => new Logger(categoryName, this);

    public void Dispose()
    {
    }

    private sealed class Logger(string category, CapturedLogs logs) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            logs._entries.Enqueue(new LogEntry(category, eventId.Id, logLevel, formatter(state, exception), exception));
    }
}
