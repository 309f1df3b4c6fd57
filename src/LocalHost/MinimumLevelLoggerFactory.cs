using Microsoft.Extensions.Logging;

namespace RoleGen.LocalHost;

/// <summary>
/// Passes only entries at or above <paramref name="minimum"/> to the application's logger factory. Used for the
/// sidecar's own chatter (Kestrel, the gRPC sidecar, DurableTask.Core/AzureStorage), which logs every work item at
/// Information. Does not own (or dispose) the inner factory.
/// </summary>
internal sealed class MinimumLevelLoggerFactory(ILoggerFactory inner, LogLevel minimum) : ILoggerFactory
{
    public ILogger CreateLogger(string categoryName) => new FilteredLogger(inner.CreateLogger(categoryName), minimum);

    public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);

    public void Dispose()
    {
        // The inner factory belongs to the application host.
    }

    private sealed class FilteredLogger(ILogger inner, LogLevel minimum) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => inner.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => logLevel >= minimum && inner.IsEnabled(logLevel);

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (IsEnabled(logLevel))
            {
                inner.Log(logLevel, eventId, state, exception, formatter);
            }
        }
    }
}
