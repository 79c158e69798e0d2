using Microsoft.Extensions.Logging;

namespace GpuSplit.Shim.Tests.Infrastructure;

/// <summary>One line the shim logged: its category, event id and the formatted message.</summary>
public sealed record LogLine(string Category, int EventId, LogLevel Level, string Message);

/// <summary>A log provider that keeps every line, for tests that check what the shim says in its log.</summary>
public sealed class CapturedLogs : ILoggerProvider
{
    private readonly List<LogLine> _lines = [];

    public IReadOnlyList<LogLine> Lines
    {
        get
        {
            lock (_lines)
            {
                return [.. _lines];
            }
        }
    }

    /// <summary>The lines with this event id (the shim's [LoggerMessage] ids).</summary>
    public IReadOnlyList<LogLine> WithEventId(int eventId) => [.. Lines.Where(l => l.EventId == eventId)];

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(CapturedLogs logs, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (logs._lines)
            {
                logs._lines.Add(new LogLine(category, eventId.Id, logLevel, formatter(state, exception)));
            }
        }
    }
}
