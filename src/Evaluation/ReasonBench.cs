using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.Logging.Abstractions;
using RoleGen.Core.Cohort;
using RoleGen.Core.Demo;
using RoleGen.Core.Reasoning;
using RoleGen.Core.Scoring;
using RoleGen.Core.Storage;
using RoleGen.Infrastructure.Scoring;
using RoleGen.Training.Model;
using RoleGen.Training.Native;
using RoleGen.Training.Onnx;
using TorchSharp;

namespace RoleGen.Evaluation;

public sealed record ReasonBenchRow(int Interventions, int Users, double ScoreUsersPerSecond, double ReasonUsersPerSecond, double Ratio,
    double RolesSeconds, double WorldModelSeconds, double PathsPerUser);

/// <summary>
/// `rolegen bench reason`: users per second of backbone-only scoring (top-20) against the embedded reasoner (roles +
/// role-diverse interventions + one conversion-head pass per intervention and one for the base), on real dormant
/// trajectories of the demo world (selected by the production <see cref="DormantCohortSelector"/>, up to 200 steps each)
/// with a randomly initialised backbone whose vocabulary holds the demo items padded with filler ids to
/// <c>items</c> entries (the cost of a pass depends on the vocabulary size, not on the weights).
/// </summary>
public static class ReasonBench
{
    public static async Task<IReadOnlyList<ReasonBenchRow>> RunAsync(int users, int items, IReadOnlyList<int> interventions, int batch, int threads,
        int repeats, Action<string> log, CancellationToken cancellationToken, bool conversionGraph = true)
    {
        ArgumentNullException.ThrowIfNull(interventions);
        ArgumentNullException.ThrowIfNull(log);
        var store = new InMemoryBlobStore();
        var world = new DemoWorldOptions { Users = users, Seed = 11 };
        var (summary, _) = await new DemoWorldWriter(store, NullLogger<DemoWorldWriter>.Instance).WriteAsync(world, "bench", cancellationToken: cancellationToken).ConfigureAwait(false);
        var cohort = await new DormantCohortSelector(store, NullLogger<DormantCohortSelector>.Instance)
            .SelectAsync("bench", "bench", new DormancyPolicy(), 1_000_000, cancellationToken: cancellationToken).ConfigureAwait(false);
        var trajectories = new List<UserTrajectory>();
        foreach (var shard in cohort.Shards)
        {
            await foreach (var u in store.ReadJsonLinesAsync<UserTrajectory>(shard.UsersPath, cancellationToken).ConfigureAwait(false))
            {
                trajectories.Add(u);
            }
        }
        var stats = await new BehaviorGraphStatisticsBuilder(store, NullLogger<BehaviorGraphStatisticsBuilder>.Instance)
            .ComputeAsync("bench", summary.MaxTimestamp, cancellationToken: cancellationToken).ConfigureAwait(false);
        var demoItems = stats.Items.Select(i => (i.Item, i.Category)).ToList();
        var vocabItems = demoItems.Select(x => x.Item).Concat(Enumerable.Range(0, Math.Max(0, items - demoItems.Count)).Select(i => $"filler-{i}")).ToArray();
        var vocabCategories = demoItems.Select(x => x.Category).Concat(Enumerable.Repeat("filler", vocabItems.Length - demoItems.Count)).ToArray();
        log(string.Create(CultureInfo.InvariantCulture,
            $"demo world: {summary.Events} events, {trajectories.Count} dormant users (mean {trajectories.Average(t => t.Steps.Count):F0} steps); vocabulary {vocabItems.Length} items ({demoItems.Count} demo)"));

        TorchNative.EnsureLoadable();
        torch.random.manual_seed(42);
        var model = new BackboneOptions();
        byte[] bytes, conversionBytes;
        using (var net = new SequenceBackbone(vocabItems.Length, model))
        {
            net.eval();
            bytes = BackboneOnnxExporter.ExportToBytes(net);
            conversionBytes = BackboneOnnxExporter.ExportConversionToBytes(net);
        }
        var vocab = new BackboneVocabulary
        {
            NumItems = vocabItems.Length,
            MaxLength = model.MaxLength,
            ItemIds = vocabItems,
            ItemCategories = vocabCategories,
        };
        var scoring = new ScoringOptions { IntraOpThreads = threads };
        using var backbone = new BackboneRecommender(OnnxBackbone.Create(bytes, model.MaxLength, scoring, NullLogger.Instance),
            vocab, new ScoringModelRef(BackboneRecommender.Kind, "bench", ""), batch,
            conversionGraph ? OnnxBackbone.Create(conversionBytes, model.MaxLength, scoring, NullLogger.Instance) : null);

        // Warm-up both paths once.
        backbone.Recommend(trajectories.Take(batch).ToArray(), Bench.TopK);
        var rows = new List<ReasonBenchRow>();
        foreach (var m in interventions)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var options = new ReasonerOptions { MaxInterventions = m, PathsPerUser = m };
            var reasoner = new EmbeddedReasoner(new InterventionCatalog(stats, options), new BackboneCounterfactualModel(backbone, batch), options);
            reasoner.Reason(trajectories.Take(batch).ToArray());
            double scoreSeconds = double.MaxValue, reasonSeconds = double.MaxValue, roles = 0, worldSeconds = 0, paths = 0;
            for (var r = 0; r < repeats; r++)
            {
                var watch = Stopwatch.StartNew();
                for (var start = 0; start < trajectories.Count; start += batch)
                {
                    backbone.Recommend(trajectories.GetRange(start, Math.Min(batch, trajectories.Count - start)), Bench.TopK);
                }
                scoreSeconds = Math.Min(scoreSeconds, watch.Elapsed.TotalSeconds);
                var timed = new EmbeddedReasoner(new InterventionCatalog(stats, options), new BackboneCounterfactualModel(backbone, batch), options);
                long kept = 0;
                watch.Restart();
                for (var start = 0; start < trajectories.Count; start += batch)
                {
                    kept += timed.Reason(trajectories.GetRange(start, Math.Min(batch, trajectories.Count - start))).Sum(x => x.Paths.Count);
                }
                var seconds = watch.Elapsed.TotalSeconds;
                if (seconds < reasonSeconds)
                {
                    reasonSeconds = seconds;
                    roles = timed.RolesAndProposalTime.TotalSeconds;
                    worldSeconds = timed.WorldModelTime.TotalSeconds;
                    paths = (double)kept / trajectories.Count;
                }
            }
            var row = new ReasonBenchRow(m, trajectories.Count, trajectories.Count / scoreSeconds, trajectories.Count / reasonSeconds,
                reasonSeconds / scoreSeconds, roles, worldSeconds, paths);
            rows.Add(row);
            log(string.Create(CultureInfo.InvariantCulture,
                $"  M={m}: scoring {row.ScoreUsersPerSecond:F0} users/s, reasoning {row.ReasonUsersPerSecond:F0} users/s ({row.Ratio:F2}x scoring time; roles+proposal {roles:F2} s, world model {worldSeconds:F2} s), {paths:F2} paths/user"));
        }
        return rows;
    }

    public static string Table(IReadOnlyList<ReasonBenchRow> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var ci = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.AppendLine("| interventions M | users | backbone scoring users/s | reasoning users/s | reasoning / scoring time | roles+proposal s | world model s | paths/user |");
        sb.AppendLine("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
        foreach (var r in rows)
        {
            sb.AppendLine(ci, $"| {r.Interventions} | {r.Users} | {r.ScoreUsersPerSecond:F0} | {r.ReasonUsersPerSecond:F0} | {r.Ratio:F2} | {r.RolesSeconds:F2} | {r.WorldModelSeconds:F2} | {r.PathsPerUser:F2} |");
        }
        return sb.ToString();
    }
}
