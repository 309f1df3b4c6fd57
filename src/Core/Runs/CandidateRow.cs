namespace RoleGen.Core.Runs;

/// <summary>One line of <c>candidates.jsonl</c>: a user's final ranked recommendations.</summary>
public sealed record CandidateRow(string RunId, string UserId, int Shard, IReadOnlyList<Candidate> Items);

public sealed record Candidate(int Rank, string ItemId, string CategoryId, double Score, string Source);
