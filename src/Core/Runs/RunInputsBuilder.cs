using System.Diagnostics;
using Microsoft.Extensions.Logging;
using RoleGen.Core.Cohort;
using RoleGen.Core.Ingest;
using RoleGen.Core.Reasoning;
using RoleGen.Core.Scoring;
using RoleGen.Core.Storage;

namespace RoleGen.Core.Runs;

/// <summary>What a run's inputs are built with: the cohort rule and shard plan, and which models the run needs.</summary>
public sealed record RunInputsRequest(string RunId, string Dataset, DormancyPolicy Policy, int ShardSize, int ShardCount, bool BuildTransition, bool BuildStatistics);

/// <summary>What the one pass read and built, and where the time went.</summary>
/// <param name="EventsRead">Every event of the dataset (the pass reads each exactly once).</param>
/// <param name="BytesRead">Bytes of the dataset's event parts read from blob.</param>
/// <param name="StatisticsError">Why the behaviour-graph statistics are missing (the run then scores without reasoning).</param>
public sealed record RunInputs(
    CohortResult Cohort,
    TransitionModelInfo? Transition,
    BehaviorGraphStatistics? Statistics,
    string? StatisticsPath,
    string? StatisticsError,
    long EventsRead,
    long EventsUsed,
    long Users,
    long BytesRead,
    double StreamSeconds,
    double UsersSeconds,
    double WriteSeconds,
    double Seconds);

/// <summary>
/// Builds everything a nightly run needs from its events in <b>one</b> read: the dormant cohort and the shards'
/// trajectories (<see cref="CohortConsumer"/>), the transition model when the run's ranker uses it
/// (<see cref="TransitionConsumer"/>) and the reasoner's behaviour-graph statistics (<see cref="GraphStatisticsConsumer"/>),
/// all fed by one <see cref="EventPass"/> (bounded memory: O(users) window statistics, O(items + categories²) counters,
/// one spool partition at a time). A failure to build the statistics is reported, not thrown: the run then scores without
/// reasoning, as before.
/// </summary>
public sealed class RunInputsBuilder(IBlobStore store, ILogger<RunInputsBuilder> logger)
{
    public async Task<RunInputs> BuildAsync(RunInputsRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var watch = Stopwatch.StartNew();
        var asOf = request.Policy.AsOfUnixSeconds ?? await EventPass.LatestTimestampAsync(store, request.Dataset, cancellationToken).ConfigureAwait(false);
        using var cohort = new CohortConsumer(request.RunId, request.Dataset, request.Policy, asOf, request.ShardSize, request.ShardCount,
            DormantCohortSelector.DefaultMaxSteps, logger);
        var transition = request.BuildTransition ? new TransitionConsumer(new TransitionModelOptions(), asOf, logger) : null;
        var graph = request.BuildStatistics ? new GraphStatisticsConsumer(new BehaviorGraphOptions(), asOf) : null;
        IEventPassConsumer[] consumers = [cohort, .. transition is null ? Array.Empty<IEventPassConsumer>() : [transition], .. graph is null ? Array.Empty<IEventPassConsumer>() : [graph]];
        var pass = await EventPass.RunAsync(store, request.Dataset, asOf, consumers, cancellationToken: cancellationToken).ConfigureAwait(false);
        var written = Stopwatch.StartNew();
        var cohortResult = await cohort.WriteAsync(store, watch, cancellationToken).ConfigureAwait(false);
        TransitionModelInfo? model = null;
        if (transition is not null && cohortResult.Dormant > 0)
        {
            model = await transition.WriteAsync(store, request.RunId, watch, cancellationToken).ConfigureAwait(false);
        }
        BehaviorGraphStatistics? stats = null;
        string? statsPath = null, statsError = null;
        if (graph is not null && cohortResult.Dormant > 0)
        {
            try
            {
                stats = graph.Build();
                statsPath = BlobLayout.GraphStatistics(request.RunId);
                await store.WriteJsonAsync(statsPath, stats, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                statsError = $"behaviour-graph statistics failed: {ex.GetType().Name}: {ex.Message}";
                logger.LogWarning(ex, "Run {RunId}: {Error}", request.RunId, statsError);
                stats = null;
                statsPath = null;
            }
        }
        logger.LogInformation("Run {RunId}: one pass over {Events} events ({Bytes} bytes) of {Dataset} → {Dormant} dormant users in {Shards} shards{Model}{Stats} in {Seconds:F1} s",
            request.RunId, pass.EventsRead, pass.BytesRead, request.Dataset, cohortResult.Dormant, cohortResult.Shards.Count,
            model is null ? "" : ", transition model", stats is null ? "" : ", graph statistics", watch.Elapsed.TotalSeconds);
        return new RunInputs(cohortResult, model, stats, statsPath, statsError, pass.EventsRead, pass.EventsUsed, pass.Users, pass.BytesRead,
            Math.Round(pass.StreamSeconds, 3), Math.Round(pass.UsersSeconds, 3), Math.Round(written.Elapsed.TotalSeconds, 3), Math.Round(watch.Elapsed.TotalSeconds, 3));
    }
}
