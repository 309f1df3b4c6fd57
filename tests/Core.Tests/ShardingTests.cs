using RoleGen.Core.Runs;
using RoleGen.Core.Cohort;
using RoleGen.Core.Storage;

namespace RoleGen.Core.Tests;

public class StableHashTests
{
    // Pinned outputs (computed independently from the documented algorithm: FNV-1a 64 over UTF-8, salt + 0x1F separator,
    // splitmix64 finalizer). A change of algorithm moves every user to another shard and A/B arm: it must fail here.
    [Theory]
    [InlineData("", null, 17665956581633026203UL)]
    [InlineData("user-42", null, 8797103408588478355UL)]
    [InlineData("1", null, 5082256738353065951UL)]
    [InlineData("1", "shard", 17488436905290794059UL)]
    [InlineData("100370", "shard", 240304383015800341UL)]
    [InlineData("é", null, 2536656207217688990UL)]
    public void Hash64_KnownInputs_ReturnPinnedValues(string value, string? salt, ulong expected)
    {
        Assert.Equal(expected, StableHash.Hash64(value, salt));
    }

    [Fact]
    public void Hash64_SaltOrValueChange_ChangesHash()
    {
        Assert.NotEqual(StableHash.Hash64("u1"), StableHash.Hash64("u1", "shard"));
        Assert.NotEqual(StableHash.Hash64("u1", "shard"), StableHash.Hash64("u1", "arm"));
        Assert.NotEqual(StableHash.Hash64("u1"), StableHash.Hash64("u2"));
        Assert.Equal(StableHash.Hash64("u1", "shard"), StableHash.Hash64("u1", "shard"));
    }

    [Fact]
    public void Hash64_LongValueBeyondStackBuffer_MatchesSameAlgorithm()
    {
        var longValue = new string('x', 300) + "ü";

        var h = StableHash.Hash64(longValue);

        Assert.Equal(h, StableHash.Hash64(new string('x', 300) + "ü"));
        Assert.NotEqual(h, StableHash.Hash64(new string('x', 300) + "u"));
    }

    [Fact]
    public void Hash64_NullValue_Throws()
    {
        Assert.Throws<ArgumentNullException>(() => StableHash.Hash64(null!));
    }

    [Fact]
    public void Bucket_100kSequentialIds_AreRoughlyUniformOver16Buckets()
    {
        const int N = 100_000;
        const int Buckets = 16;
        var counts = new int[Buckets];
        for (var i = 0; i < N; i++)
        {
            counts[StableHash.Bucket(i.ToString(System.Globalization.CultureInfo.InvariantCulture), Buckets, "shard")]++;
        }

        var expected = (double)N / Buckets;
        var chiSquare = counts.Sum(c => (c - expected) * (c - expected) / expected);
        // 15 degrees of freedom: the 99.9th percentile is 37.7. A biased hash (e.g. FNV without the finalizer) blows far past it.
        Assert.True(chiSquare < 37.7, $"chi-square {chiSquare:F1} over buckets [{string.Join(", ", counts)}]");
    }

    [Fact]
    public void Unit_Values_AreInHalfOpenUnitIntervalAndSpread()
    {
        var values = Enumerable.Range(0, 10_000).Select(i => StableHash.Unit($"u{i}", "arm")).ToArray();

        Assert.All(values, v => Assert.InRange(v, 0.0, 0.9999999999));
        Assert.InRange(values.Average(), 0.48, 0.52);
        Assert.InRange(values.Count(v => v < 0.1), 900, 1100);
    }

    [Fact]
    public void Bucket_ZeroBuckets_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => StableHash.Bucket("u", 0));
    }
}

public class ShardPlanTests
{
    [Theory]
    [InlineData(0, 100, 1)]
    [InlineData(1, 100, 1)]
    [InlineData(100, 100, 1)]
    [InlineData(101, 100, 2)]
    [InlineData(200, 100, 2)]
    [InlineData(201, 100, 4)]
    [InlineData(1000, 100, 16)]
    [InlineData(1_000_000, 5000, 256)]
    [InlineData(5, 1, 8)]
    public void ShardCount_DerivedCount_IsSmallestPowerOfTwoKeepingShardsAtTarget(long users, int target, int expected)
    {
        var count = ShardPlan.ShardCount(users, target);

        Assert.Equal(expected, count);
        Assert.Equal(0, count & (count - 1));
        Assert.True((double)users / count <= target);
    }

    [Theory]
    [InlineData(10_000_000, 10)]
    [InlineData(long.MaxValue / 2, 1)]
    public void ShardCount_HugeCohort_IsCappedAtShardCountMax(long users, int target)
    {
        Assert.Equal(RunDefaults.ShardCountMax, ShardPlan.ShardCount(users, target));
    }

    [Fact]
    public void ShardCount_Pinned_IsReturnedAsIsEvenIfNotPowerOfTwo()
    {
        Assert.Equal(7, ShardPlan.ShardCount(1_000_000, 10, pinnedShardCount: 7));
        Assert.Equal(3, ShardPlan.ShardCount(0, 0, pinnedShardCount: 3));
    }

    [Fact]
    public void ShardCount_NonPositiveTargetWithoutPin_Throws()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => ShardPlan.ShardCount(10, 0));
    }

    [Fact]
    public void ShardOf_PinnedUsers_StayInKnownShards()
    {
        // From the pinned hashes above: Hash64("1","shard") % 16 = 11, Hash64("100370","shard") % 1024 = 533.
        Assert.Equal(11, ShardPlan.ShardOf("1", 16));
        Assert.Equal(533, ShardPlan.ShardOf("100370", 1024));
        Assert.Equal(0, ShardPlan.ShardOf("anyone", 1));
    }

    [Fact]
    public void ShardOf_DoublingShardCount_OnlySplitsShards()
    {
        for (var k = 0; k < 8; k++)
        {
            var count = 1 << k;
            for (var u = 0; u < 2_000; u++)
            {
                var user = $"user-{u}";
                var n = ShardPlan.ShardOf(user, count);
                var after = ShardPlan.ShardOf(user, count * 2);
                Assert.True(after == n || after == n + count, $"{user}: shard {n} of {count} became {after} of {count * 2}");
            }
        }
    }

    [Fact]
    public void Paths_ForShard_AreZeroPaddedUnderRun()
    {
        Assert.Equal("runs/r1/shards/00003/", BlobLayout.ShardFolder("r1", 3));
        Assert.Equal("runs/r1/shards/00003/users.jsonl", BlobLayout.ShardUsers("r1", 3));
        Assert.Equal("runs/r1/feedback/outcomes/00012.jsonl.gz", BlobLayout.FeedbackOutcomes("r1", 12));
        Assert.Equal("runs/r1/feedback/partials/00012.json", BlobLayout.FeedbackPartial("r1", 12));
        Assert.Equal("priors/v1/candidates/00012.jsonl", BlobLayout.PriorsCandidates("v1", 12));
        Assert.Equal("runs/r1/shards/00012/candidates.jsonl", BlobLayout.ShardCandidates("r1", 12));
        Assert.Equal("runs/r1/shards/00000/shard.json", BlobLayout.ShardReport("r1", 0));
    }
}
