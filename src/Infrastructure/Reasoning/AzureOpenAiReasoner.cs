using System.ClientModel;
using System.ClientModel.Primitives;
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
/// The SDK's own retries are disabled (<see cref="CreateChatClient"/>): the loop here (with <see cref="ChatRetry"/>, shared with
/// <see cref="AzureOpenAiPromptReviser"/>) retries 429/5xx/timeouts with
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
    Func<TimeSpan, CancellationToken, Task>? delay = null,
    LlmDeploymentGate? gate = null) : ILlmReasoner
{
    private readonly ChatClient _chat = chat ?? throw new ArgumentNullException(nameof(chat));
    private readonly IBlobStore _store = store ?? throw new ArgumentNullException(nameof(store));
    private readonly LlmReasonerOptions _options = Validated(options);
    private readonly ILogger _logger = logger ?? NullLogger<AzureOpenAiReasoner>.Instance;
    private readonly ChatRetry _retry = new(Validated(options), logger ?? NullLogger<AzureOpenAiReasoner>.Instance, clock ?? TimeProvider.System,
        delay ?? ((wait, token) => Task.Delay(wait, clock ?? TimeProvider.System, token)), "LLM reasoner");
    private readonly PromptStore _prompts = new(store, logger);
    private readonly SemaphoreSlim _promptLock = new(1, 1);
    private volatile PromptTemplate? _prompt;
    private readonly LlmDeploymentGate _gate = gate ?? new LlmDeploymentGate(Validated(options), clock);
    private volatile bool _circuitMet;

    /// <summary>
    /// The prompt version in use (recorded in the manifest): the stored <c>prompts/reasoner/{version}</c>. With
    /// <see cref="LlmReasonerOptions.PromptVersion"/> = <c>latest</c> the version is resolved lazily, once per instance
    /// (per run), from the <c>prompts/reasoner/current</c> pointer (see <see cref="PromptStore.ResolveAsync"/>): this is
    /// the resolved version after the first <see cref="ReasonAsync"/> or <see cref="LoadPromptAsync"/>, and the configured
    /// value (<c>latest</c>) before. A pinned version is reported as configured from the start.
    /// </summary>
    public string PromptVersion => _prompt?.Version ?? _options.PromptVersion;

    /// <summary>This instance's (this run's) token budget.</summary>
    public TokenBudget Budget { get; } = new(Validated(options).MaxTokensPerRun);

    /// <summary>The rate limiters and circuit breaker of the deployment (shared by the factory's reasoners).</summary>
    public LlmDeploymentGate Gate => _gate;

    public int MaxParallelCalls => _options.MaxParallelCalls;

    public long TokensSpent => Budget.Used;

    public void LimitTokens(long maxTokens) => Budget.LimitTo(maxTokens);

    /// <summary>This instance's (this run's) counters.</summary>
    public LlmReasonerStats Stats { get; } = new();

    /// <summary>The prompt template once loaded (null before the first call); its SHA-256 identifies the exact text used.</summary>
    public PromptTemplate? Prompt => _prompt;

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
        var cachePath = BlobLayout.LlmCache(prompt.Version, key);

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

        int promptTokens = 0, completionTokens = 0, requests = 0, throttled = 0;
        string? lastError = null;
        LlmReasoningResult Done(LlmOutcome outcome, string error) =>
            Outcome(outcome, promptTokens, completionTokens, error) with { Requests = requests, Throttled = throttled };
        for (var attempt = 1; attempt <= _options.MaxAttempts; attempt++)
        {
            if (attempt > 1)
            {
                Stats.AddRetry();
            }
            if (_circuitMet || _gate.IsOpen)
            {
                // Once this instance (this shard) met the open breaker, its remaining users go to the embedded reasoner
                // without waiting for the deployment to recover (a half-open trial belongs to a later shard).
                _circuitMet = true;
                Stats.AddCircuitOpen();
                return Done(LlmOutcome.CircuitOpen, "circuit breaker open for deployment " + _options.Deployment + (lastError is null ? "" : $" (after: {lastError})"));
            }
            if (!Budget.TryReserve(worstCase))
            {
                Stats.AddBudgetExhausted();
                return Done(LlmOutcome.BudgetExhausted,
                    $"run budget: {Budget.Used} of {Budget.MaxTokens} tokens used, {worstCase} needed" + (lastError is null ? "" : $" (after: {lastError})"));
            }
            ChatAttempt sent;
            try
            {
                if (!await _gate.AcquireAsync(worstCase, cancellationToken).ConfigureAwait(false))
                {
                    Budget.Settle(worstCase, 0);
                    Stats.AddFailed();
                    return Done(LlmOutcome.Failed, $"rate limiter: {worstCase} tokens exceed the token bucket of {_gate.TokenLimit}");
                }
                sent = await _gate.ExecuteAsync(async token =>
                {
                    Stats.AddCall();
                    Interlocked.Increment(ref requests);
                    return await _retry.AttemptAsync(_chat, messages, completionOptions, token).ConfigureAwait(false);
                }, cancellationToken).ConfigureAwait(false);
            }
            catch (Polly.CircuitBreaker.BrokenCircuitException)
            {
                Budget.Settle(worstCase, 0);
                _circuitMet = true;
                Stats.AddCircuitOpen();
                return Done(LlmOutcome.CircuitOpen, "circuit breaker open for deployment " + _options.Deployment + (lastError is null ? "" : $" (after: {lastError})"));
            }
            catch
            {
                Budget.Settle(worstCase, 0);
                throw;
            }
            if (sent.Status == 429)
            {
                throttled++;
                Stats.AddThrottled();
            }
            switch (sent.Kind)
            {
                case ChatAttemptKind.Transient:
                    Budget.Settle(worstCase, 0); // throttled and failed requests are not billed
                    lastError = sent.Error!;
                    if (_retry.ExceedsCap(sent.RetryAfter))
                    {
                        Stats.AddFailed();
                        return Done(LlmOutcome.Failed,
                            $"{lastError}; Retry-After {sent.RetryAfter!.Value.TotalSeconds:0.#} s exceeds MaxRetryDelaySeconds {_options.MaxRetryDelaySeconds}");
                    }
                    if (await _retry.BackOffAsync(attempt, sent.RetryAfter, lastError, cancellationToken).ConfigureAwait(false))
                    {
                        continue;
                    }
                    Stats.AddFailed();
                    return Done(LlmOutcome.Failed, $"{lastError} after {attempt} attempts");
                case ChatAttemptKind.Rejected:
                    Budget.Settle(worstCase, 0);
                    Stats.AddFailed();
                    return Done(LlmOutcome.Failed, sent.Error!);
                case ChatAttemptKind.TimedOut:
                    // The service may have processed (and billed) the prompt before the timeout: charge the estimate.
                    Budget.Settle(worstCase, estimate);
                    lastError = sent.Error!;
                    if (await _retry.BackOffAsync(attempt, null, lastError, cancellationToken).ConfigureAwait(false))
                    {
                        continue;
                    }
                    Stats.AddFailed();
                    return Done(LlmOutcome.Failed, $"{lastError} ({attempt} attempts)");
                case ChatAttemptKind.Unreadable:
                    // A 200 whose body is not a chat completion: as bad as an invalid answer (the call may have been billed).
                    Budget.Settle(worstCase, worstCase);
                    lastError = sent.Error!;
                    _logger.LogWarning("LLM reasoner attempt {Attempt}/{MaxAttempts}: {Error}", attempt, _options.MaxAttempts, lastError);
                    continue;
            }

            var completion = sent.Completion!;
            var usedIn = completion.Usage?.InputTokenCount ?? estimate;
            var usedOut = completion.Usage?.OutputTokenCount ?? _options.MaxOutputTokens;
            Budget.Settle(worstCase, (long)usedIn + usedOut);
            Stats.AddTokens(usedIn, usedOut);
            promptTokens += usedIn;
            completionTokens += usedOut;

            var content = ChatRetry.Text(completion);
            if (ReasonerOutput.TryValidate(content, message, out var output, out var error))
            {
                Stats.AddOk();
                Stats.AddDropped(output!.DroppedIds, output.DroppedRoles);
                await TryWriteCacheAsync(cachePath, new CachedReasoning(prompt.Version, _options.Deployment!, output.Roles, output.Paths, output.Rationale),
                    cancellationToken).ConfigureAwait(false);
                return new LlmReasoningResult(LlmOutcome.Ok, output.Roles, output.Paths, output.Rationale, output.DroppedIds, promptTokens, completionTokens, null)
                {
                    Requests = requests,
                    Throttled = throttled,
                };
            }
            lastError = completion.FinishReason == ChatFinishReason.Stop ? error : $"{error} (finish reason {completion.FinishReason.ToString().ToLowerInvariant()})";
            _logger.LogWarning("LLM reasoner attempt {Attempt}/{MaxAttempts} returned invalid output: {Error}", attempt, _options.MaxAttempts, lastError);
        }
        Stats.AddInvalid();
        return Done(LlmOutcome.Invalid, $"invalid output after {_options.MaxAttempts} attempts: {lastError}");
    }

    /// <summary>
    /// Resolves and loads the prompt template now (otherwise the first <see cref="ReasonAsync"/> does): afterwards
    /// <see cref="PromptVersion"/> is the resolved version. Throws when the template cannot be loaded.
    /// </summary>
    public Task<PromptTemplate> LoadPromptAsync(CancellationToken cancellationToken = default) => GetPromptAsync(cancellationToken);

    private async Task<PromptTemplate> GetPromptAsync(CancellationToken cancellationToken)
    {
        if (_prompt is { } loaded)
        {
            return loaded;
        }
        await _promptLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_prompt is null)
            {
                // The pointer's SHA-256 is checked against the very text loaded here; a refused pointer falls back to v1.
                _prompt = (await _prompts.LoadAsync(_options.PromptVersion, cancellationToken).ConfigureAwait(false)).Template;
            }
            return _prompt;
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

    private static LlmReasonerOptions Validated(LlmReasonerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!options.IsEnabled)
        {
            throw new ArgumentException($"The LLM reasoner needs {LlmReasonerOptions.SectionName}:Endpoint and :Deployment.", nameof(options));
        }
        if (options.Errors() is { Count: > 0 } errors)
        {
            throw new ArgumentException($"Invalid {LlmReasonerOptions.SectionName} options: {string.Join(" ", errors)}", nameof(options));
        }
        return options;
    }

    /// <summary>A cached valid answer at <c>reasoning/llm-cache/{promptVersion}/{key[0..2]}/{key}.json</c>.</summary>
    internal sealed record CachedReasoning(string PromptVersion, string Deployment, IReadOnlyList<StepRole> Roles,
        IReadOnlyList<ConversionPath> Paths, string Rationale);
}
