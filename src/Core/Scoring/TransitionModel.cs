using System.Text;

namespace RoleGen.Core.Scoring;

/// <summary>The baseline: item-to-item transition model. <c>P(b | a)</c> is estimated from what users did within a few
/// steps after interacting with <c>a</c> (weighted by the later action and the gap), keeping the top neighbours per item,
/// plus recency-weighted popularity for cold users and for filling short lists.</summary>
public sealed class TransitionModel
{
    public const string Kind = "baseline-transitions";
    private const uint Magic = 0x4D544752; // "RGTM"
    private const int FormatVersion = 1;

    public TransitionModel(string[] itemIds, string[] categories, float[] popularity, (int Item, float Weight)[][] neighbours, int[] popular, long asOf)
    {
        ItemIds = itemIds;
        Categories = categories;
        Popularity = popularity;
        Neighbours = neighbours;
        Popular = popular;
        AsOfUnixSeconds = asOf;
        Index = new Dictionary<string, int>(itemIds.Length, StringComparer.Ordinal);
        for (var i = 0; i < itemIds.Length; i++)
        {
            Index[itemIds[i]] = i;
        }
    }

    public string[] ItemIds { get; }

    public string[] Categories { get; }

    public float[] Popularity { get; }

    /// <summary>Per item, the neighbours b with P(b | a), best first.</summary>
    public (int Item, float Weight)[][] Neighbours { get; }

    /// <summary>Items by popularity, best first (the head only).</summary>
    public int[] Popular { get; }

    public long AsOfUnixSeconds { get; }

    public Dictionary<string, int> Index { get; }

    public int ItemCount => ItemIds.Length;

    public void Save(Stream stream)
    {
        using var w = new BinaryWriter(stream, Encoding.UTF8, leaveOpen: true);
        w.Write(Magic);
        w.Write(FormatVersion);
        w.Write(AsOfUnixSeconds);
        w.Write(ItemIds.Length);
        for (var i = 0; i < ItemIds.Length; i++)
        {
            w.Write(ItemIds[i]);
            w.Write(Categories[i]);
            w.Write(Popularity[i]);
            var n = Neighbours[i];
            w.Write(n.Length);
            foreach (var (item, weight) in n)
            {
                w.Write(item);
                w.Write(weight);
            }
        }
        w.Write(Popular.Length);
        foreach (var p in Popular)
        {
            w.Write(p);
        }
    }

    public static TransitionModel Load(Stream stream)
    {
        using var r = new BinaryReader(stream, Encoding.UTF8, leaveOpen: true);
        if (r.ReadUInt32() != Magic)
        {
            throw new InvalidDataException("Not a RoleGen transition model (bad magic).");
        }
        var version = r.ReadInt32();
        if (version != FormatVersion)
        {
            throw new InvalidDataException($"Transition model format {version} is not supported (expected {FormatVersion}).");
        }
        var asOf = r.ReadInt64();
        var count = r.ReadInt32();
        var ids = new string[count];
        var cats = new string[count];
        var pop = new float[count];
        var neighbours = new (int, float)[count][];
        for (var i = 0; i < count; i++)
        {
            ids[i] = r.ReadString();
            cats[i] = r.ReadString();
            pop[i] = r.ReadSingle();
            var n = r.ReadInt32();
            var list = new (int, float)[n];
            for (var k = 0; k < n; k++)
            {
                list[k] = (r.ReadInt32(), r.ReadSingle());
            }
            neighbours[i] = list;
        }
        var popular = new int[r.ReadInt32()];
        for (var i = 0; i < popular.Length; i++)
        {
            popular[i] = r.ReadInt32();
        }
        return new TransitionModel(ids, cats, pop, neighbours, popular, asOf);
    }
}
