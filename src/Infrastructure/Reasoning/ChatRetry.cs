using System.ClientModel;
using System.ClientModel.Primitives;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using OpenAI.Chat;

namespace RoleGen.Infrastructure.Reasoning;

/// <summary>How one chat completion attempt ended.</summary>
internal enum ChatAttemptKind
{
    /// <summary>A chat completion came back (its content still has to be validated).</summary>
    Completed,

    /// <summary>429, 408, 5xx or a transport failure: worth retrying, after <see cref="ChatAttempt.RetryAfter"/> when given.</summary>
    Transient,

    /// <summary>Any other HTTP error (400, 401, 404...): retrying does not help.</summary>
    Rejected,

    /// <summary>The per-attempt timeout elapsed (the service may have processed and billed the prompt).</summary>
    TimedOut,

    /// <summary>A 200 whose body is not a chat completion.</summary>
    Unreadable,
}

/// <summary>One attempt: the completion, or the error text and the server's requested wait.</summary>
internal sealed record ChatAttempt(ChatAttemptKind Kind, ChatCompletion? Completion, string? Error, TimeSpan? RetryAfter, int Status = 0);

/// <summary>
/// The HTTP side of the retry loops of <see cref="AzureOpenAiReasoner"/> and <see cref="AzureOpenAiPromptReviser"/>: one
/// attempt with the per-attempt timeout, classified (<see cref="AttemptAsync"/>), and the backoff between attempts
/// honouring Retry-After (<see cref="BackOffAsync"/>) with an injectable delay and clock. The callers keep their own
/// budget and counting around it. The SDK's own retries are off (<see cref="AzureOpenAiReasoner.CreateChatClient"/>).
/// </summary>
internal sealed class ChatRetry(LlmReasonerOptions options, ILogger logger, TimeProvider clock, Func<TimeSpan, CancellationToken, Task> delay, string caller)
{
    public LlmReasonerOptions Options { get; } = options;

    /// <summary>Sends one chat completion request. Throws only when <paramref name="cancellationToken"/> is cancelled.</summary>
    public async Task<ChatAttempt> AttemptAsync(ChatClient chat, IEnumerable<ChatMessage> messages, ChatCompletionOptions completionOptions,
        CancellationToken cancellationToken)
    {
        try
        {
            using var attemptCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            attemptCts.CancelAfter(TimeSpan.FromSeconds(Options.TimeoutSeconds));
            var completion = (await chat.CompleteChatAsync(messages, completionOptions, attemptCts.Token).ConfigureAwait(false)).Value;
            return new ChatAttempt(ChatAttemptKind.Completed, completion, null, null);
        }
        catch (ClientResultException ex) when (IsTransient(ex.Status))
        {
            if (ex.Status == 429)
            {
                Core.Telemetry.RoleGenTelemetry.LlmThrottled.Add(1);
            }
            return new ChatAttempt(ChatAttemptKind.Transient, null, $"HTTP {ex.Status}: {FirstLine(ex.Message)}", RetryAfter(ex.GetRawResponse()), ex.Status);
        }
        catch (ClientResultException ex)
        {
            return new ChatAttempt(ChatAttemptKind.Rejected, null, $"HTTP {ex.Status}: {FirstLine(ex.Message)}", null, ex.Status);
        }
        catch (Exception ex) when (ex is OperationCanceledException or TimeoutException && !cancellationToken.IsCancellationRequested)
        {
            return new ChatAttempt(ChatAttemptKind.TimedOut, null, $"timeout after {Options.TimeoutSeconds} s", null);
        }
        catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException or KeyNotFoundException)
        {
            return new ChatAttempt(ChatAttemptKind.Unreadable, null, $"unreadable response: {FirstLine(ex.Message)}", null);
        }
    }

    /// <summary>True when the server asks for a longer wait than <see cref="LlmReasonerOptions.MaxRetryDelaySeconds"/>
    /// (the call fails instead of stalling).</summary>
    public bool ExceedsCap(TimeSpan? retryAfter) => retryAfter > TimeSpan.FromSeconds(Options.MaxRetryDelaySeconds);

    /// <summary>Waits before the next attempt (Retry-After as given, else exponential from <see cref="LlmReasonerOptions.FirstRetryDelay"/>
    /// capped at <see cref="LlmReasonerOptions.MaxRetryDelaySeconds"/> and jittered down by up to <see cref="LlmReasonerOptions.RetryJitter"/>,
    /// so callers throttled together do not retry together); false when no attempt is left.</summary>
    public async Task<bool> BackOffAsync(int attempt, TimeSpan? retryAfter, string error, CancellationToken cancellationToken)
    {
        if (attempt >= Options.MaxAttempts)
        {
            return false;
        }
        var wait = retryAfter ?? Backoff(attempt);
        logger.LogWarning("{Caller} attempt {Attempt}/{MaxAttempts} failed ({Error}); retrying in {Wait}", caller, attempt, Options.MaxAttempts, error, wait);
        await delay(wait, cancellationToken).ConfigureAwait(false);
        return true;
    }

    /// <summary>The wait after failed attempt <paramref name="attempt"/> without Retry-After: d = min(cap, first · 2^(attempt−1)),
    /// drawn uniformly from [(1 − jitter)·d, d].</summary>
    internal TimeSpan Backoff(int attempt)
    {
        var d = Math.Min(Options.MaxRetryDelaySeconds, Options.FirstRetryDelay * Math.Pow(2, attempt - 1));
        var jitter = Math.Clamp(Options.RetryJitter, 0, 1);
        return TimeSpan.FromSeconds(jitter == 0 ? d : d * (1 - jitter * Random.Shared.NextDouble()));
    }

    /// <summary>429, 408, 5xx, and status 0 (the transport failed before any response).</summary>
    internal static bool IsTransient(int status) => status is 0 or 408 or 429 or >= 500;

    /// <summary>The server's requested wait: <c>retry-after-ms</c>, else <c>Retry-After</c> in seconds or as an HTTP date.</summary>
    internal TimeSpan? RetryAfter(PipelineResponse? response)
    {
        if (response is null)
        {
            return null;
        }
        if (response.Headers.TryGetValue("retry-after-ms", out var ms)
            && double.TryParse(ms, NumberStyles.Float, CultureInfo.InvariantCulture, out var millis) && millis >= 0)
        {
            return TimeSpan.FromMilliseconds(millis);
        }
        if (response.Headers.TryGetValue("Retry-After", out var value) && !string.IsNullOrWhiteSpace(value))
        {
            if (double.TryParse(value, NumberStyles.Float, CultureInfo.InvariantCulture, out var seconds) && seconds >= 0)
            {
                return TimeSpan.FromSeconds(seconds);
            }
            if (DateTimeOffset.TryParseExact(value.Trim(), "r", CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var date))
            {
                var until = date - clock.GetUtcNow();
                return until > TimeSpan.Zero ? until : TimeSpan.Zero;
            }
        }
        return null;
    }

    /// <summary>The text parts of a completion's message.</summary>
    public static string Text(ChatCompletion completion) =>
        string.Concat(completion.Content.Where(p => p.Kind == ChatMessageContentPartKind.Text).Select(p => p.Text));

    public static string FirstLine(string text)
    {
        var end = text.IndexOfAny(['\r', '\n']);
        return end < 0 ? text : text[..end];
    }
}
