namespace RoleGen.Core.Runs;

/// <summary>One line of <c>candidates.jsonl</c>: a user's final ranked recommendations.</summary>
public sealed record CandidateRow(string RunId, string UserId, int Shard, IReadOnlyList<Candidate> Items)
{
    /// <summary>The user's A/B arm (null in runs without an experiment).</summary>
    public Experiments.Arm? Arm { get; init; }
}

/// <summary>One ranked item: <see cref="Source"/> says which model(s) proposed it (backbone, reasoned, backbone+reasoned,
/// transition, ...), <see cref="Role"/> the functional role it plays for the user (null: no evidence for one).</summary>
public sealed record Candidate(int Rank, string ItemId, string CategoryId, double Score, string Source)
{
    public Reasoning.FunctionalRole? Role { get; init; }
}
