using System.ComponentModel.DataAnnotations;

namespace RoleGen.Infrastructure.Reasoning;

/// <summary>
/// The optional LLM reasoner (<c>RoleGen:Reasoner:Llm</c>). Disabled unless both <see cref="Endpoint"/> and
/// <see cref="Deployment"/> are set: nothing is registered then and callers keep the embedded reasoner.
/// </summary>
/// <remarks>
/// Authentication: <see cref="ApiKey"/> when set, otherwise the <see cref="Azure.Core.TokenCredential"/> given to
/// <c>AddRoleGenLlmReasoner</c> (the host's managed identity). Infrastructure does not reference Azure.Identity, so
/// there is no implicit <c>DefaultAzureCredential</c>: a host that wants Entra ID passes its credential explicitly
/// (the Azure OpenAI account in infra/ has local auth disabled, so Azure deployments need the credential).
/// </remarks>
public sealed class LlmReasonerOptions : IValidatableObject
{
    public const string SectionName = "RoleGen:Reasoner:Llm";

    /// <summary>Azure OpenAI endpoint, e.g. https://oai-rolegen-x.openai.azure.com/. Null disables the LLM reasoner.</summary>
    public Uri? Endpoint { get; set; }

    /// <summary>Chat model deployment name. Null or empty disables the LLM reasoner.</summary>
    public string? Deployment { get; set; }

    /// <summary>Optional API key; when absent the injected token credential is used.</summary>
    public string? ApiKey { get; set; }

    /// <summary>
    /// Prompt template version, stored at <c>prompts/reasoner/{version}</c> (immutable once written). <c>latest</c> (the
    /// default) follows the <c>prompts/reasoner/current</c> pointer that the prompt reviser moves after reflection, and is
    /// <c>v1</c> until a revision exists; an explicit version (e.g. <c>v1</c>) pins the reasoner to it. The version
    /// actually used is resolved once per reasoner instance (per run) and recorded in the manifest.
    /// </summary>
    [Required]
    [RegularExpression("^[a-z0-9][a-z0-9._-]{0,31}$", ErrorMessage = "PromptVersion is 1-32 lowercase letters, digits, '.', '_' or '-' (it is a blob name segment).")]
    public string PromptVersion { get; set; } = PromptStore.Latest;

    /// <summary>Attempts per user in total (HTTP retries and invalid-output retries share it).</summary>
    [Range(1, 10)]
    public int MaxAttempts { get; set; } = 3;

    /// <summary>First backoff delay in seconds when the service gives no Retry-After (doubled per retry).</summary>
    [Range(0.0, 60.0)]
    public double FirstRetryDelay { get; set; } = 1;

    /// <summary>Backoff cap. A Retry-After longer than this fails the user instead of stalling the shard.</summary>
    [Range(0.0, 600.0)]
    public double MaxRetryDelaySeconds { get; set; } = 30;

    /// <summary>Timeout of one attempt (also the HTTP pipeline's network timeout).</summary>
    [Range(1, 600)]
    public int TimeoutSeconds { get; set; } = 30;

    /// <summary>Token budget of one reasoner instance (one run): reserved before each call, settled with the reported usage.</summary>
    [Range(1, int.MaxValue)]
    public int MaxTokensPerRun { get; set; } = 200_000;

    /// <summary>Per-user cap on one call: estimated prompt tokens (characters / 4) + <see cref="MaxOutputTokens"/>.</summary>
    [Range(1, int.MaxValue)]
    public int MaxTokensPerUser { get; set; } = 4_000;

    /// <summary>Completion token cap sent to the model.</summary>
    [Range(16, 16_384)]
    public int MaxOutputTokens { get; set; } = 800;

    /// <summary>Trajectory steps sent to the model (the most recent ones).</summary>
    [Range(1, 500)]
    public int MaxSteps { get; set; } = 30;

    /// <summary>
    /// Requests per minute the deployment allows (its RPM quota). A token bucket shared by every reasoner of the process
    /// on this deployment (<see cref="LlmDeploymentGate"/>) holds calls to it: 1/60 of it is added each second, and
    /// it holds at most 10 seconds' worth (Azure OpenAI enforces the quota over short windows).
    /// </summary>
    [Range(1, 1_000_000)]
    public int RequestsPerMinute { get; set; } = 180;

    /// <summary>Tokens per minute the deployment allows (its TPM quota): the second shared bucket, from which each call
    /// takes its worst case (estimated prompt + <see cref="MaxOutputTokens"/>) before it is sent. At least <see cref="MaxTokensPerUser"/>.</summary>
    [Range(1, 100_000_000)]
    public int TokensPerMinute { get; set; } = 30_000;

    /// <summary>LLM calls in flight at once within one shard (users are still answered in input order).</summary>
    [Range(1, 64)]
    public int MaxParallelCalls { get; set; } = 4;

    /// <summary>Random spread of each backoff without Retry-After: the wait is drawn from [(1 − j)·d, d] (0 = none).</summary>
    [Range(0.0, 1.0)]
    public double RetryJitter { get; set; } = 0.25;

    /// <summary>Circuit breaker: the share of failed calls (429, 5xx, timeouts) within <see cref="BreakerSamplingSeconds"/>
    /// that opens it. Open, it refuses calls to the deployment for <see cref="BreakerBreakSeconds"/>, and a shard that met it
    /// sends the rest of its users to the embedded reasoner (fallback reason <c>circuitopen</c>).</summary>
    [Range(0.01, 1.0)]
    public double BreakerFailureRatio { get; set; } = 0.5;

    /// <summary>Calls within the sampling window before the breaker may open.</summary>
    [Range(2, 10_000)]
    public int BreakerMinimumThroughput { get; set; } = 10;

    [Range(0.5, 3_600.0)]
    public double BreakerSamplingSeconds { get; set; } = 30;

    [Range(0.5, 3_600.0)]
    public double BreakerBreakSeconds { get; set; } = 60;

    /// <summary>Cross-field checks (the ranges are attributes).</summary>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (TokensPerMinute < MaxTokensPerUser)
        {
            yield return new ValidationResult($"TokensPerMinute ({TokensPerMinute}) must be at least MaxTokensPerUser ({MaxTokensPerUser}): a call could never get its tokens.",
                [nameof(TokensPerMinute), nameof(MaxTokensPerUser)]);
        }
        if (MaxOutputTokens >= MaxTokensPerUser)
        {
            yield return new ValidationResult($"MaxOutputTokens ({MaxOutputTokens}) must be below MaxTokensPerUser ({MaxTokensPerUser}): no prompt would fit.",
                [nameof(MaxOutputTokens), nameof(MaxTokensPerUser)]);
        }
    }

    /// <summary>Every error of these options (data annotations and cross-field checks); empty when valid.</summary>
    public IReadOnlyList<string> Errors()
    {
        var results = new List<ValidationResult>();
        Validator.TryValidateObject(this, new ValidationContext(this), results, validateAllProperties: true);
        return [.. results.Select(r => r.ErrorMessage ?? "invalid")];
    }

    /// <summary>True when an endpoint and a deployment are configured.</summary>
    public bool IsEnabled => Endpoint is not null && !string.IsNullOrWhiteSpace(Deployment);

    /// <summary>A copy pinned to <paramref name="promptVersion"/> (the offline prompt check reasons with each version).</summary>
    public LlmReasonerOptions WithPromptVersion(string promptVersion)
    {
        var copy = (LlmReasonerOptions)MemberwiseClone();
        copy.PromptVersion = promptVersion;
        return copy;
    }
}

/// <summary>Settings of the prompt lifecycle (section <c>RoleGen:Reflection</c>): whether reflection may promote a staged
/// candidate itself, and the size of the held-back slice of its offline check.</summary>
public sealed class PromptPromotionOptions
{
    public const string SectionName = "RoleGen:Reflection";

    /// <summary>Off (the default): a revision is only staged; promote it with <c>rolegen prompts promote</c>. On: reflection
    /// promotes a candidate whose offline check passed.</summary>
    public bool AutoPromote { get; set; }

    /// <summary>Held-back users reasoned with both prompts (at most).</summary>
    [Range(1, 500)]
    public int CheckUsers { get; set; } = 20;

    /// <summary>Fewer held-back users than this: the check does not run and nothing is promoted.</summary>
    [Range(1, 500)]
    public int MinCheckUsers { get; set; } = 5;
}
