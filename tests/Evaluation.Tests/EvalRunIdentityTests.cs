using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using RoleGen.Core.Cohort;
using RoleGen.Core.Demo;
using RoleGen.Core.Ingest;
using RoleGen.Core.Reasoning;
using RoleGen.Core.Runs;
using RoleGen.Core.Storage;
using RoleGen.Infrastructure.Composition;
using RoleGen.LocalHost;
using RoleGen.Orchestrations;
using RoleGen.Orchestrations.Orchestrators;

namespace RoleGen.Evaluation.Tests;

/// <summary>What the offline numbers measure is what the nightly run publishes: the same users, scored by the evaluation's
/// pipeline (<see cref="EvalPipeline.ForRoleGen"/> over the eval's own transition model and statistics, built from the same
/// events up to the run's as-of time), get exactly the candidate lists a durable run wrote to candidates.jsonl.</summary>
public sealed class EvalRunIdentityTests
{
    [Fact]
    public async Task The_same_users_through_eval_and_through_a_run_get_identical_candidate_lists()
    {
        var store = new InMemoryBlobStore();
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true });
        builder.Services.AddRoleGenCore();
        builder.Services.AddSingleton<IBlobStore>(store);
        builder.Services.AddLocalDurableHost(new LocalDurableHostOptions { Backend = DurableBackend.InMemory, MaxConcurrentActivities = 4, MaxConcurrentOrchestrations = 16 },
            registry => registry.AddRoleGenTasks());
        using var host = builder.Build();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));
        await host.StartAsync(timeout.Token);
        try
        {
            await host.Services.GetRequiredService<DemoWorldWriter>().WriteAsync(new DemoWorldOptions { Users = 800, Seed = 11 }, "demo", cancellationToken: timeout.Token);
            // No experiment: every user gets RoleGen's fused list (what the evaluation scores); a reasoner option off the
            // defaults, to show the options travel the same way.
            var request = new RunRequest
            {
                RunId = "identity",
                Dataset = "demo",
                ShardSize = 200,
                TopK = 12,
                Experiment = null,
                Reasoner = new ReasonerOptions { MaxInterventions = 4, PathsPerUser = 2 },
                FirstRetrySeconds = 0.1,
            };
            var client = host.Services.GetRequiredService<DurableTaskClient>();
            await client.ScheduleNewOrchestrationInstanceAsync(new TaskName(nameof(NightlyRunOrchestrator)), request,
                new StartOrchestrationOptions { InstanceId = request.RunId }, timeout.Token);
            var meta = await client.WaitForInstanceCompletionAsync(request.RunId, getInputsAndOutputs: true, timeout.Token);
            var summary = meta.ReadOutputAs<RunSummary>()!;
            Assert.Equal(RunStatus.Succeeded, summary.Status);
            Assert.True(summary.Published > 50, $"only {summary.Published} users published");
            var manifest = await store.ReadJsonAsync<RunManifest>(BlobLayout.Manifest(request.RunId));
            Assert.True(manifest.Reasoning!.Enabled);

            var users = new List<UserTrajectory>();
            var published = new Dictionary<string, CandidateRow>(StringComparer.Ordinal);
            for (var shard = 0; shard < manifest.Cohort!.ShardCount; shard++)
            {
                if (!await store.ExistsAsync(BlobLayout.ShardUsers(request.RunId, shard)))
                {
                    continue;
                }
                await foreach (var u in store.ReadJsonLinesAsync<UserTrajectory>(BlobLayout.ShardUsers(request.RunId, shard)))
                {
                    users.Add(u);
                }
                await foreach (var row in store.ReadJsonLinesAsync<CandidateRow>(BlobLayout.ShardCandidates(request.RunId, shard)))
                {
                    published.Add(row.UserId, row);
                }
            }
            Assert.Equal(summary.Published, users.Count);

            // The evaluation's own models, from the dataset's events up to the run's as-of time.
            var events = new List<Core.Events.BehaviorEvent>();
            await foreach (var e in EventStore.ReadAllAsync(store, "demo"))
            {
                events.Add(e);
            }
            var asOf = manifest.Cohort.AsOfUnixSeconds;
            var (transition, _) = await TransitionBaseline.BuildAsync(events, asOf, timeout.Token);
            var stats = await RoleGenEval.StatisticsAsync(events, asOf, timeout.Token);
            var pipeline = EvalPipeline.ForRoleGen(transition, stats, new StatisticalCounterfactualModel(stats), request.Reasoner, request.TopK);
            var evaluated = await pipeline.RecommendAsync(users, timeout.Token);

            var reasonedItems = 0;
            for (var i = 0; i < users.Count; i++)
            {
                var row = published[users[i].UserId];
                var expected = row.Items.Select(c => (c.ItemId, c.Source, c.Role)).ToArray();
                var actual = evaluated[i].Items.Select(c => (c.ItemId, c.Source, c.Role)).ToArray();
                Assert.Equal(expected, actual);
                Assert.Equal(row.Items.Select(c => c.Score), evaluated[i].Items.Select(c => c.Score));
                reasonedItems += row.Items.Count(c => c.Source.Contains("reasoned", StringComparison.Ordinal));
            }
            Assert.True(reasonedItems > 0, "no reasoned item was published: the test would not show that fusion matches");
        }
        finally
        {
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(15));
            try
            {
                await host.StopAsync(stop.Token);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }
}
