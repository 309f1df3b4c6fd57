namespace RoleGen.Core.Cohort;

/// <summary>How users map to shards: <c>shard = hash(user) mod count</c>. When <c>ShardCount</c> is pinned, a user's shard
/// never changes. Otherwise the count is the smallest power of two that keeps shards at or under the target size, so a
/// user's shard changes only when the cohort crosses a power-of-two band — and then only splits (n → n or n + count/2).
/// A derived count never exceeds <see cref="Runs.RunDefaults.ShardCountMax"/> (a bigger cohort makes bigger shards, never an
/// unbounded fan-out).</summary>
public static class ShardPlan
{
    public static int ShardCount(long users, int targetShardSize, int pinnedShardCount = 0)
    {
        if (pinnedShardCount > 0)
        {
            return pinnedShardCount;
        }
        ArgumentOutOfRangeException.ThrowIfLessThan(targetShardSize, 1);
        var needed = Math.Max(1, (users + targetShardSize - 1) / targetShardSize);
        needed = Math.Min(needed, Runs.RunDefaults.ShardCountMax);
        var count = 1;
        while (count < needed)
        {
            count <<= 1;
        }
        return count;
    }

    public static int ShardOf(string userId, int shardCount) => StableHash.Bucket(userId, shardCount, salt: "shard");

}
