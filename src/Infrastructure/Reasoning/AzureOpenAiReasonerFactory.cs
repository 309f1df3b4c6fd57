using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OpenAI.Chat;
using RoleGen.Core.Storage;

namespace RoleGen.Infrastructure.Reasoning;

/// <summary>
/// Creates <see cref="AzureOpenAiReasoner"/>s that share one chat client (one HTTP pipeline per process) but each own a
/// token budget and stats: call <see cref="Create"/> once per run (or per shard activity, whose budget is then the
/// per-run budget of that shard) and record the instance's <see cref="AzureOpenAiReasoner.Stats"/> in the manifest.
/// Every reasoner of the factory (of the process: the factory is a singleton) shares one <see cref="LlmDeploymentGate"/> per
/// deployment — its RPM/TPM token buckets and circuit breaker — so parallel shards are throttled together.
/// Also creates the <see cref="AzureOpenAiPromptReviser"/> that reflection uses to refine the prompt (<see cref="CreateReviser"/>).
/// </summary>
public sealed class AzureOpenAiReasonerFactory(
    IBlobStore store,
    IOptions<LlmReasonerOptions> options,
    ILoggerFactory? loggerFactory = null,
    Azure.Core.TokenCredential? credential = null,
    TimeProvider? clock = null,
    PromptPromotionOptions? promotion = null)
{
    private readonly Lazy<ChatClient> _chat = new(() => AzureOpenAiReasoner.CreateChatClient(options.Value, credential));
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Lazy<LlmDeploymentGate>> _gates = new(StringComparer.Ordinal);

    /// <summary>A reasoner with a fresh budget of <see cref="LlmReasonerOptions.MaxTokensPerRun"/> and zeroed stats, on the
    /// deployment's shared gate.</summary>
    public AzureOpenAiReasoner Create() => new(_chat.Value, store, options.Value,
        (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<AzureOpenAiReasoner>(), clock, gate: Gate());

    /// <summary>The shared rate limiters and circuit breaker of the configured deployment (one per endpoint and deployment).</summary>
    public LlmDeploymentGate Gate()
    {
        var o = options.Value;
        return _gates.GetOrAdd($"{o.Endpoint}|{o.Deployment}", _ => new Lazy<LlmDeploymentGate>(() => new LlmDeploymentGate(o, clock))).Value;
    }

    /// <summary>A prompt reviser on the same chat client and deployment (its token cap per revision is
    /// <see cref="LlmReasonerOptions.MaxTokensPerRun"/>).</summary>
    public AzureOpenAiPromptReviser CreateReviser() => new(_chat.Value, store, options.Value,
        (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger<AzureOpenAiPromptReviser>(), clock, null, promotion);
}
