using System.Diagnostics;
using Microsoft.DurableTask;
using Microsoft.Extensions.Logging;
using RoleGen.Core.Cohort;
using RoleGen.Core.Ingest;
using RoleGen.Core.Reasoning;
using RoleGen.Core.Runs;
using RoleGen.Core.Scoring;
using RoleGen.Core.Storage;
using RoleGen.Orchestrations.Models;

namespace RoleGen.Orchestrations.Activities;

/// <summary>
/// Runs the Conversion Trajectory Reasoner over one shard before scoring and writes <c>reasoning.jsonl</c> (one
/// <see cref="UserReasoning"/> per user, in users.jsonl order; overwritten on retry). The embedded reasoner always runs
/// (roles, role-diverse interventions, Δ from the run's world model); when an LLM reasoner is configured it refines each
/// user's roles and path choice over the embedded candidates, and any user it cannot serve (invalid output after retries,
/// HTTP failure, budget) keeps the embedded result, marked <c>embedded-fallback</c> and counted.
/// </summary>
public sealed class ReasonShardActivity(
    IBlobStore store,
    ReasoningStatisticsCache statistics,
    ICounterfactualModelProvider worlds,
    IEnumerable<ILlmReasoner> llms,
    ILogger<ReasonShardActivity> logger) : TaskActivity<ReasonShardInput, ReasonShardResult>
{
    public const int BatchSize = 256;

    public override async Task<ReasonShardResult> RunAsync(TaskActivityContext context, ReasonShardInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var watch = Stopwatch.StartNew();
        BehaviorGraphStatistics stats;
        try
        {
            stats = await statistics.GetAsync(input.Reasoning.StatsPath).ConfigureAwait(false);
        }
        catch (BlobNotFoundException ex)
        {
            throw new PermanentFailureException($"Shard {input.Shard}: the run's reasoning statistics are missing at {ex.Path}.", ex);
        }
        var options = input.Reasoning.Options;
        ICounterfactualModel world;
        try
        {
            world = await worlds.GetAsync(input.Model, stats).ConfigureAwait(false);
        }
        catch (BlobNotFoundException ex)
        {
            throw new PermanentFailureException($"Model '{input.Model.Kind}' version {input.Model.Version} is missing at {ex.Path}.", ex);
        }
        var reasoner = new EmbeddedReasoner(new InterventionCatalog(stats, options), world, options);
        var llm = llms.FirstOrDefault();
        var path = BlobLayout.ShardReasoning(input.RunId, input.Shard);
        var tally = new Tally();
        try
        {
            await using var output = await store.OpenWriteAsync(path).ConfigureAwait(false);
            var batch = new List<UserTrajectory>(BatchSize);
            async Task FlushAsync()
            {
                var reasoned = reasoner.Reason(batch);
                if (llm is not null)
                {
                    reasoned = await RefineAsync(llm, batch, reasoned, options, tally).ConfigureAwait(false);
                }
                foreach (var r in reasoned)
                {
                    tally.Add(r);
                }
                await JsonLines.WriteAsync(output, reasoned).ConfigureAwait(false);
                batch.Clear();
            }
            await foreach (var user in store.ReadJsonLinesAsync<UserTrajectory>(input.UsersPath).ConfigureAwait(false))
            {
                batch.Add(user);
                if (batch.Count == BatchSize)
                {
                    await FlushAsync().ConfigureAwait(false);
                }
            }
            if (batch.Count > 0)
            {
                await FlushAsync().ConfigureAwait(false);
            }
        }
        catch (InvalidDataException ex)
        {
            throw new PermanentFailureException($"Shard {input.Shard}: {ex.Message}", ex);
        }
        var result = new ShardReasoning(tally.Users, tally.Paths, tally.Reasoners, tally.PathsByRole, tally.MeanDelta, reasoner.WorldModel,
            llm?.PromptVersion, options.Fusion.Version, Math.Round(watch.Elapsed.TotalSeconds, 3),
            Math.Round(reasoner.RolesAndProposalTime.TotalSeconds, 3), Math.Round(reasoner.WorldModelTime.TotalSeconds, 3), llm is null ? null : tally.Llm);
        logger.LogInformation("Reasoned over {Users} users of shard {Shard}: {Paths} paths ({World}) in {Seconds:F2} s",
            tally.Users, input.Shard, tally.Paths, reasoner.WorldModel, watch.Elapsed.TotalSeconds);
        return new ReasonShardResult(input.Shard, result, path);
    }

    private async Task<IReadOnlyList<UserReasoning>> RefineAsync(ILlmReasoner llm, IReadOnlyList<UserTrajectory> users,
        IReadOnlyList<UserReasoning> embedded, ReasonerOptions options, Tally tally)
    {
        var refined = new UserReasoning[users.Count];
        for (var i = 0; i < users.Count; i++)
        {
            var e = embedded[i];
            var answer = await llm.ReasonAsync(new LlmReasoningRequest(users[i], e.Roles, e.Paths)).ConfigureAwait(false);
            tally.Count($"llm.{answer.Outcome.ToString().ToLowerInvariant()}");
            tally.Count("llm.droppedIds", answer.DroppedIds);
            tally.Count("llm.promptTokens", answer.PromptTokens);
            tally.Count("llm.completionTokens", answer.CompletionTokens);
            refined[i] = answer.Usable
                ? e with
                {
                    Reasoner = ReasonerKinds.Llm,
                    Roles = answer.Roles!,
                    Paths = answer.Paths!.Take(options.PathsPerUser).ToArray(),
                    Rationale = string.IsNullOrWhiteSpace(answer.Rationale) ? e.Rationale : answer.Rationale,
                    PromptVersion = llm.PromptVersion,
                }
                : e with
                {
                    Reasoner = ReasonerKinds.EmbeddedFallback,
                    PromptVersion = llm.PromptVersion,
                    FallbackReason = $"{answer.Outcome}: {answer.Error}",
                };
            if (!answer.Usable)
            {
                logger.LogWarning("LLM reasoner unusable for user {User} ({Outcome}: {Error}); embedded result kept", users[i].UserId, answer.Outcome, answer.Error);
            }
        }
        return refined;
    }

    private sealed class Tally
    {
        private double _deltaSum;
        private long _deltaCount;

        public int Users { get; private set; }

        public long Paths { get; private set; }

        public Dictionary<string, long> Reasoners { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, long> PathsByRole { get; } = new(StringComparer.Ordinal);

        public Dictionary<string, long> Llm { get; } = new(StringComparer.Ordinal);

        public double MeanDelta => _deltaCount == 0 ? 0 : Math.Round(_deltaSum / _deltaCount, 6);

        public void Add(UserReasoning r)
        {
            Users++;
            Reasoners[r.Reasoner] = Reasoners.GetValueOrDefault(r.Reasoner) + 1;
            foreach (var p in r.Paths)
            {
                Paths++;
                var role = p.Role.ToString().ToLowerInvariant();
                PathsByRole[role] = PathsByRole.GetValueOrDefault(role) + 1;
                if (double.IsFinite(p.Delta))
                {
                    _deltaSum += p.Delta;
                    _deltaCount++;
                }
            }
        }

        public void Count(string key, long by = 1) => Llm[key] = Llm.GetValueOrDefault(key) + by;
    }
}
