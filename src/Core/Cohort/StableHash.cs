using System.Text;

namespace RoleGen.Core.Cohort;

/// <summary>FNV-1a 64-bit over UTF-8 with a final avalanche (splitmix64). Stable across processes, machines and .NET
/// versions (unlike <see cref="string.GetHashCode()"/>), so a user lands in the same shard and A/B arm every night.</summary>
public static class StableHash
{
    public static ulong Hash64(string value, string? salt = null)
    {
        ArgumentNullException.ThrowIfNull(value);
        const ulong Offset = 14695981039346656037UL;
        const ulong Prime = 1099511628211UL;
        var h = Offset;
        Span<byte> buffer = stackalloc byte[256];
        if (salt is not null)
        {
            h = Mix(h, salt, buffer);
            h = (h ^ 0x1F) * Prime; // separator
        }
        h = Mix(h, value, buffer);
        // splitmix64 finalizer: spreads FNV's weak low bits so modulo by a power of two is uniform.
        h ^= h >> 30;
        h *= 0xBF58476D1CE4E5B9UL;
        h ^= h >> 27;
        h *= 0x94D049BB133111EBUL;
        h ^= h >> 31;
        return h;

        static ulong Mix(ulong h, string s, Span<byte> buffer)
        {
            var bytes = Encoding.UTF8.GetMaxByteCount(s.Length) <= buffer.Length ? buffer[..Encoding.UTF8.GetBytes(s, buffer)] : Encoding.UTF8.GetBytes(s);
            foreach (var b in bytes)
            {
                h ^= b;
                h *= Prime;
            }
            return h;
        }
    }

    /// <summary>Uniform bucket in [0, buckets).</summary>
    public static int Bucket(string value, int buckets, string? salt = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(buckets, 1);
        return (int)(Hash64(value, salt) % (ulong)buckets);
    }

    /// <summary>Uniform value in [0, 1).</summary>
    public static double Unit(string value, string? salt = null) => (Hash64(value, salt) >> 11) * (1.0 / (1UL << 53));
}
