using System.ClientModel;
using System.ClientModel.Primitives;
using System.Globalization;
using System.Text.Json;
using Azure.AI.OpenAI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using OpenAI.Chat;
using RoleGen.Core.Reasoning;
using RoleGen.Core.Storage;

namespace RoleGen.Infrastructure.Reasoning;

/// <summary>
/// <see cref="ILlmReasoner"/> on an Azure OpenAI chat deployment with structured output (a strict JSON schema), validated
/// on return. One instance is one budget scope: it owns a <see cref="TokenBudget"/> of <see cref="LlmReasonerOptions.MaxTokensPerRun"/>
/// and the <see cref="Stats"/> that go into the run manifest, so create one per run (see <see cref="AzureOpenAiReasonerFactory"/>).
/// </summary>
/// <remarks>
/// The SDK's own retries are disabled (<see cref="CreateChatClient"/>): the loop here retries 429/5xx/timeouts with
/// backoff honouring Retry-After, and retries an invalid answer, within one <see cref="LlmReasonerOptions.MaxAttempts"/>
/// budget — so the behaviour is visible in the stats and testable with an injected delay and clock.
/// Valid answers are cached in blob under a signature of (prompt version, prompt text, deployment, data block): a re-run
/// over unchanged trajectories costs no tokens.
/// <see cref="ReasonAsync"/> reports bad answers, HTTP failures and budget refusals as outcomes; it throws only when the
/// caller cancels or the prompt template cannot be loaded from blob (a configuration error for every user alike).
/// </remarks>
public sealed class AzureOpenAiReasoner(
    ChatClient chat,
    IBlobStore store,
    LlmReasonerOptions options,
    ILogger<AzureOpenAiReasoner>? logger = null,
    TimeProvider? clock = null,
    Func<TimeSpan, CancellationToken, Task>? delay = null) : ILlmReasoner
{
    public const string CachePrefix = "reasoning/llm-cache/";

    private readonly ChatClient _chat = chat ?? throw new ArgumentNullException(nameof(chat));
    private readonly IBlobStore _store = store ?? throw new ArgumentNullException(nameof(store));
    private readonly LlmReasonerOptions _options = Validated(options);
    private readonly ILogger _logger = logger ?? NullLogger<AzureOpenAiReasoner>.Instance;
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;
    private readonly Func<TimeSpan, CancellationToken, Task> _delay = delay ?? ((wait, token) => Task.Delay(wait, clock ?? TimeProvider.System, token));
    private readonly PromptStore _prompts = new(store);
    private readonly SemaphoreSlim _promptLock = new(1, 1);
    private volatile PromptTemplate? _prompt;

    /// <summary>The prompt version in use (recorded in the manifest): the stored <c>prompts/reasoner/{version}</c>.</summary>
    public string PromptVersion => _options.PromptVersion;

    /// <summary>This instance's (this run's) token budget.</summary>
    public TokenBudget Budget { get; } = new(Validated(options).MaxTokensPerRun);

    /// <summary>This instance's (this run's) counters.</summary>
    public LlmReasonerStats Stats { get; } = new();

    /// <summary>The prompt template once loaded (null before the first call); its SHA-256 identifies the exact text used.</summary>
    public PromptTemplate? Prompt => _prompt;

    public static string CachePathFor(string promptVersion, string key) => $"{CachePrefix}{promptVersion}/{key[..2]}/{key}.json";

    /// <summary>
    /// A chat client for <see cref="LlmReasonerOptions.Deployment"/> with the SDK's retries off and the network timeout
    /// set. Authentication: the API key when configured, else <paramref name="credential"/> (Entra ID, e.g. managed
    /// identity). <paramref name="httpClient"/> replaces the transport (tests record requests through it).
    /// </summary>
    public static ChatClient CreateChatClient(LlmReasonerOptions options, Azure.Core.TokenCredential? credential = null, HttpClient? httpClient = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!options.IsEnabled)
        {
            throw new InvalidOperationException($"The LLM reasoner is disabled: set {LlmReasonerOptions.SectionName}:Endpoint and :Deployment.");
        }
        var clientOptions = new AzureOpenAIClientOptions
        {
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            NetworkTimeout = TimeSpan.FromSeconds(options.TimeoutSeconds),
        };
        if (httpClient is not null)
        {
            clientOptions.Transport = new HttpClientPipelineTransport(httpClient);
        }
        AzureOpenAIClient client;
        if (!string.IsNullOrWhiteSpace(options.ApiKey))
        {
            client = new AzureOpenAIClient(options.Endpoint!, new ApiKeyCredential(options.ApiKey), clientOptions);
        }
        else
        {
            client = new AzureOpenAIClient(options.Endpoint!, credential ?? throw new InvalidOperationException(
                $"Set {LlmReasonerOptions.SectionName}:ApiKey or pass a token credential (managed identity) to the LLM reasoner."), clientOptions);
        }
        return client.GetChatClient(options.Deployment);
    }

    public async Task<LlmReasoningResult> ReasonAsync(LlmReasoningRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(request.User);
        var prompt = await GetPromptAsync(cancellationToken).ConfigureAwait(false);
        var message = ReasonerMessage.Create(request, _options.MaxSteps);
        var key = Signature.Of(prompt.Version, prompt.Sha256, _options.Deployment!, message.DataJson);
        var cachePath = CachePathFor(prompt.Version, key);

        var cached = await TryReadCacheAsync(cachePath, cancellationToken).ConfigureAwait(false);
        if (cached is not null)
        {
            Stats.AddCached();
            return new LlmReasoningResult(LlmOutcome.Cached, cached.Roles, cached.Paths, cached.Rationale, 0, 0, 0, null);
        }

        var estimate = ReasonerMessage.EstimateTokens(prompt.Text, message.Text);
        var worstCase = estimate + _options.MaxOutputTokens;
        if (worstCase > _options.MaxTokensPerUser)
        {
            Stats.AddBudgetExhausted();
            return Outcome(LlmOutcome.BudgetExhausted, 0, 0,
                $"per-user budget: ~{estimate} prompt + {_options.MaxOutputTokens} output tokens exceed MaxTokensPerUser {_options.MaxTokensPerUser}");
        }

        ChatMessage[] messages = [new SystemChatMessage(prompt.Text), new UserChatMessage(message.Text)];
        var completionOptions = new ChatCompletionOptions
        {
            ResponseFormat = ChatResponseFormat.CreateJsonSchemaFormat(ReasonerOutput.SchemaName, ReasonerOutput.Schema, jsonSchemaIsStrict: true),
            MaxOutputTokenCount = _options.MaxOutputTokens,
            Temperature = 0f,
        };

        int promptTokens = 0, completionTokens = 0;
        string? lastError = null;
        for (var attempt = 1; attempt <= _options.MaxAttempts; attempt++)
        {
            if (attempt > 1)
            {
                Stats.AddRetry();
            }
            if (!Budget.TryReserve(worstCase))
            {
                Stats.AddBudgetExhausted();
                return Outcome(LlmOutcome.BudgetExhausted, promptTokens, completionTokens,
                    $"run budget: {Budget.Used} of {Budget.MaxTokens} tokens used, {worstCase} needed" + (lastError is null ? "" : $" (after: {lastError})"));
            }
            Stats.AddCall();
            ChatCompletion completion;
            TimeSpan? wait;
            try
            {
                using var attemptCts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                attemptCts.CancelAfter(TimeSpan.FromSeconds(_options.TimeoutSeconds));
                completion = (await _chat.CompleteChatAsync(messages, completionOptions, attemptCts.Token).ConfigureAwait(false)).Value;
            }
            catch (ClientResultException ex) when (IsTransient(ex.Status))
            {
                Budget.Settle(worstCase, 0); // throttled and failed requests are not billed
                lastError = $"HTTP {ex.Status}: {FirstLine(ex.Message)}";
                wait = RetryAfter(ex.GetRawResponse());
                if (wait > TimeSpan.FromSeconds(_options.MaxRetryDelaySeconds))
                {
                    Stats.AddFailed();
                    return Outcome(LlmOutcome.Failed, promptTokens, completionTokens,
                        $"{lastError}; Retry-After {wait.Value.TotalSeconds:0.#} s exceeds MaxRetryDelaySeconds {_options.MaxRetryDelaySeconds}");
                }
                if (await BackOffAsync(attempt, wait, lastError, cancellationToken).ConfigureAwait(false))
                {
                    continue;
                }
                Stats.AddFailed();
                return Outcome(LlmOutcome.Failed, promptTokens, completionTokens, $"{lastError} after {attempt} attempts");
            }
            catch (ClientResultException ex)
            {
                Budget.Settle(worstCase, 0);
                Stats.AddFailed();
                return Outcome(LlmOutcome.Failed, promptTokens, completionTokens, $"HTTP {ex.Status}: {FirstLine(ex.Message)}");
            }
            catch (Exception ex) when (ex is OperationCanceledException or TimeoutException && !cancellationToken.IsCancellationRequested)
            {
                // The service may have processed (and billed) the prompt before the timeout: charge the estimate.
                Budget.Settle(worstCase, estimate);
                lastError = $"timeout after {_options.TimeoutSeconds} s";
                if (await BackOffAsync(attempt, null, lastError, cancellationToken).ConfigureAwait(false))
                {
                    continue;
                }
                Stats.AddFailed();
                return Outcome(LlmOutcome.Failed, promptTokens, completionTokens, $"{lastError} ({attempt} attempts)");
            }
            catch (Exception ex) when (ex is JsonException or FormatException or InvalidOperationException or KeyNotFoundException)
            {
                // A 200 whose body is not a chat completion: as bad as an invalid answer (the call may have been billed).
                Budget.Settle(worstCase, worstCase);
                lastError = $"unreadable response: {FirstLine(ex.Message)}";
                _logger.LogWarning("LLM reasoner attempt {Attempt}/{MaxAttempts}: {Error}", attempt, _options.MaxAttempts, lastError);
                continue;
            }

            var usedIn = completion.Usage?.InputTokenCount ?? estimate;
            var usedOut = completion.Usage?.OutputTokenCount ?? _options.MaxOutputTokens;
            Budget.Settle(worstCase, (long)usedIn + usedOut);
            Stats.AddTokens(usedIn, usedOut);
            promptTokens += usedIn;
            completionTokens += usedOut;

            var content = string.Concat(completion.Content.Where(p => p.Kind == ChatMessageContentPartKind.Text).Select(p => p.Text));
            if (ReasonerOutput.TryValidate(content, message, out var output, out var error))
            {
                Stats.AddOk();
                Stats.AddDropped(output!.DroppedIds, output.DroppedRoles);
                await TryWriteCacheAsync(cachePath, new CachedReasoning(prompt.Version, _options.Deployment!, output.Roles, output.Paths, output.Rationale),
                    cancellationToken).ConfigureAwait(false);
                return new LlmReasoningResult(LlmOutcome.Ok, output.Roles, output.Paths, output.Rationale, output.DroppedIds, promptTokens, completionTokens, null);
            }
            lastError = completion.FinishReason == ChatFinishReason.Stop ? error : $"{error} (finish reason {completion.FinishReason.ToString().ToLowerInvariant()})";
            _logger.LogWarning("LLM reasoner attempt {Attempt}/{MaxAttempts} returned invalid output: {Error}", attempt, _options.MaxAttempts, lastError);
        }
        Stats.AddInvalid();
        return Outcome(LlmOutcome.Invalid, promptTokens, completionTokens, $"invalid output after {_options.MaxAttempts} attempts: {lastError}");
    }

    /// <summary>Waits before the next attempt; false when no attempt is left.</summary>
    private async Task<bool> BackOffAsync(int attempt, TimeSpan? retryAfter, string error, CancellationToken cancellationToken)
    {
        if (attempt >= _options.MaxAttempts)
        {
            return false;
        }
        var wait = retryAfter ?? TimeSpan.FromSeconds(Math.Min(_options.MaxRetryDelaySeconds, _options.FirstRetryDelay * Math.Pow(2, attempt - 1)));
        _logger.LogWarning("LLM reasoner attempt {Attempt}/{MaxAttempts} failed ({Error}); retrying in {Wait}", attempt, _options.MaxAttempts, error, wait);
        await _delay(wait, cancellationToken).ConfigureAwait(false);
        return true;
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
                var until = date - _clock.GetUtcNow();
                return until > TimeSpan.Zero ? until : TimeSpan.Zero;
            }
        }
        return null;
    }

    private async Task<PromptTemplate> GetPromptAsync(CancellationToken cancellationToken)
    {
        if (_prompt is { } loaded)
        {
            return loaded;
        }
        await _promptLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return _prompt ??= await _prompts.EnsureAsync(_options.PromptVersion, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _promptLock.Release();
        }
    }

    private async Task<CachedReasoning?> TryReadCacheAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            return await _store.TryReadJsonAsync<CachedReasoning>(path, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is JsonException or InvalidDataException)
        {
            _logger.LogWarning(ex, "Ignoring unreadable LLM cache entry {Path}", path);
            return null;
        }
    }

    private async Task TryWriteCacheAsync(string path, CachedReasoning entry, CancellationToken cancellationToken)
    {
        try
        {
            await _store.WriteJsonAsync(path, entry, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or Azure.RequestFailedException)
        {
            // The answer is valid; a cache write failure only costs tokens on a re-run.
            _logger.LogWarning(ex, "Could not cache the LLM answer at {Path}", path);
        }
    }

    private static LlmReasoningResult Outcome(LlmOutcome outcome, int promptTokens, int completionTokens, string error) =>
        new(outcome, null, null, null, 0, promptTokens, completionTokens, error);

    private static string FirstLine(string text)
    {
        var end = text.IndexOfAny(['\r', '\n']);
        return end < 0 ? text : text[..end];
    }

    private static LlmReasonerOptions Validated(LlmReasonerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!options.IsEnabled)
        {
            throw new ArgumentException($"The LLM reasoner needs {LlmReasonerOptions.SectionName}:Endpoint and :Deployment.", nameof(options));
        }
        return options;
    }

    /// <summary>A cached valid answer at <c>reasoning/llm-cache/{promptVersion}/{key[0..2]}/{key}.json</c>.</summary>
    internal sealed record CachedReasoning(string PromptVersion, string Deployment, IReadOnlyList<StepRole> Roles,
        IReadOnlyList<ConversionPath> Paths, string Rationale);
}
