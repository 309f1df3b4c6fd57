using RoleGen.Core.Cohort;
using RoleGen.Core.Reasoning;
using RoleGen.Core.Storage;

namespace RoleGen.Core.Runs;

/// <summary>
/// Why one user got their list: the trajectory with the role of each step, the counterfactual paths the reasoner kept
/// (with Δ), and the final list with the source and role of each item. Built from the shard's three files
/// (<c>users.jsonl</c>, <c>reasoning.jsonl</c>, <c>candidates.jsonl</c>); used by <c>rolegen explain</c> and the HTML report.
/// </summary>
public sealed record UserExplanation(
    string RunId,
    string UserId,
    int Shard,
    Experiments.Arm? Arm,
    UserTrajectory? Trajectory,
    UserReasoning? Reasoning,
    IReadOnlyList<Candidate> Items)
{
    /// <summary>The trajectory's steps joined with their roles (by position; a step without a role line gets null).</summary>
    public IReadOnlyList<(TrajectoryStep Step, StepRole? Role)> Steps
    {
        get
        {
            if (Trajectory is null)
            {
                return [];
            }
            var roles = Reasoning?.Roles.ToDictionary(r => r.Position) ?? [];
            return Trajectory.Steps.Select((s, i) => (s, roles.GetValueOrDefault(i))).ToArray();
        }
    }
}

/// <summary>Reads a run's per-user results from any <see cref="IBlobStore"/> (Azurite, Azure, or the local copy the CLI
/// keeps under <c>.rolegen/runs/</c>): candidates of every user or one, and one user's explanation.</summary>
public sealed class RunResultsReader(IBlobStore store)
{
    /// <summary>The run's manifest, or null when the run has none (not finished, or not this store).</summary>
    public Task<RunManifest?> ManifestAsync(string runId, CancellationToken cancellationToken = default) =>
        store.TryReadJsonAsync<RunManifest>(BlobLayout.Manifest(runId), cancellationToken);

    /// <summary>Every published candidate row of the run, shard by shard (failed shards have none).</summary>
    public async IAsyncEnumerable<CandidateRow> CandidatesAsync(RunManifest manifest,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        foreach (var shard in manifest.Shards.Where(s => s.Status == ShardStatus.Succeeded).OrderBy(s => s.Shard))
        {
            var path = BlobLayout.ShardCandidates(manifest.RunId, shard.Shard);
            if (!await store.ExistsAsync(path, cancellationToken).ConfigureAwait(false))
            {
                continue;
            }
            await foreach (var row in store.ReadJsonLinesAsync<CandidateRow>(path, cancellationToken).ConfigureAwait(false))
            {
                yield return row;
            }
        }
    }

    /// <summary>The shard a user of this run lands in (the same stable hash the cohort selection uses).</summary>
    public static int ShardOf(RunManifest manifest, string userId)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        var count = manifest.Cohort?.ShardCount is > 0 and var c ? c : manifest.Shards.Count;
        return count <= 0 ? 0 : ShardPlan.ShardOf(userId, count);
    }

    /// <summary>One user's candidates, or null when the user was not published in this run.</summary>
    public async Task<CandidateRow?> CandidatesOfAsync(RunManifest manifest, string userId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        var path = BlobLayout.ShardCandidates(manifest.RunId, ShardOf(manifest, userId));
        return await FindAsync<CandidateRow>(path, r => r.UserId == userId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The user's explanation, or null when the user is not in the run's published candidates.</summary>
    public async Task<UserExplanation?> ExplainAsync(RunManifest manifest, string userId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        var shard = ShardOf(manifest, userId);
        var candidates = await FindAsync<CandidateRow>(BlobLayout.ShardCandidates(manifest.RunId, shard), r => r.UserId == userId, cancellationToken).ConfigureAwait(false);
        if (candidates is null)
        {
            return null;
        }
        var trajectory = await FindAsync<UserTrajectory>(BlobLayout.ShardUsers(manifest.RunId, shard), u => u.UserId == userId, cancellationToken).ConfigureAwait(false);
        var reasoning = await FindAsync<UserReasoning>(BlobLayout.ShardReasoning(manifest.RunId, shard), u => u.UserId == userId, cancellationToken).ConfigureAwait(false);
        return new UserExplanation(manifest.RunId, userId, shard, candidates.Arm, trajectory, reasoning, candidates.Items);
    }

    /// <summary>Explanations of up to <paramref name="count"/> users of one shard, treatment users (the fused lists) first.</summary>
    public async Task<IReadOnlyList<UserExplanation>> SampleAsync(string runId, int shard, int count, CancellationToken cancellationToken = default)
    {
        var rows = new List<CandidateRow>();
        var path = BlobLayout.ShardCandidates(runId, shard);
        if (count <= 0 || !await store.ExistsAsync(path, cancellationToken).ConfigureAwait(false))
        {
            return [];
        }
        await foreach (var row in store.ReadJsonLinesAsync<CandidateRow>(path, cancellationToken).ConfigureAwait(false))
        {
            rows.Add(row);
            if (rows.Count >= Math.Max(count * 4, 64))
            {
                break;
            }
        }
        var picked = rows.OrderBy(r => r.Arm == Experiments.Arm.Control ? 1 : 0).Take(count).ToDictionary(r => r.UserId, StringComparer.Ordinal);
        var users = await CollectAsync<UserTrajectory>(BlobLayout.ShardUsers(runId, shard), u => u.UserId, picked.Keys, cancellationToken).ConfigureAwait(false);
        var reasoning = await CollectAsync<UserReasoning>(BlobLayout.ShardReasoning(runId, shard), u => u.UserId, picked.Keys, cancellationToken).ConfigureAwait(false);
        return picked.Values.Select(r => new UserExplanation(runId, r.UserId, shard, r.Arm, users.GetValueOrDefault(r.UserId), reasoning.GetValueOrDefault(r.UserId), r.Items)).ToArray();
    }

    private async Task<T?> FindAsync<T>(string path, Func<T, bool> match, CancellationToken cancellationToken)
        where T : class
    {
        if (!await store.ExistsAsync(path, cancellationToken).ConfigureAwait(false))
        {
            return null;
        }
        await foreach (var row in store.ReadJsonLinesAsync<T>(path, cancellationToken).ConfigureAwait(false))
        {
            if (match(row))
            {
                return row;
            }
        }
        return null;
    }

    private async Task<Dictionary<string, T>> CollectAsync<T>(string path, Func<T, string> key, IEnumerable<string> wanted, CancellationToken cancellationToken)
    {
        var want = new HashSet<string>(wanted, StringComparer.Ordinal);
        var found = new Dictionary<string, T>(StringComparer.Ordinal);
        if (want.Count == 0 || !await store.ExistsAsync(path, cancellationToken).ConfigureAwait(false))
        {
            return found;
        }
        await foreach (var row in store.ReadJsonLinesAsync<T>(path, cancellationToken).ConfigureAwait(false))
        {
            if (want.Contains(key(row)))
            {
                found[key(row)] = row;
                if (found.Count == want.Count)
                {
                    break;
                }
            }
        }
        return found;
    }
}
