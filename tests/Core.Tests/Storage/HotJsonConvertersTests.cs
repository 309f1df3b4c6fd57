using System.Text;
using System.Text.Json;
using RoleGen.Core.Experiments;
using RoleGen.Core.Reasoning;
using RoleGen.Core.Runs;
using RoleGen.Core.Storage;

namespace RoleGen.Core.Tests.Storage;

/// <summary>The hand-written converters of the hot rows (<see cref="HotJson"/>) against the general serializer with the
/// same settings (<see cref="RoleGenJson.General"/>): the same bytes written, the same values read, for the rows RoleGen
/// writes and for every other spelling the general serializer accepts or refuses.</summary>
public sealed class HotJsonConvertersTests
{
    private static string General<T>(T value) => JsonSerializer.Serialize(value, RoleGenJson.General);

    private static string Hot<T>(T value) => JsonSerializer.Serialize(value, RoleGenJson.Options);

    /// <summary>A value's canonical text (the general serializer's), to compare what two readers produced.</summary>
    private static string Canonical<T>(T? value) => JsonSerializer.Serialize(value, RoleGenJson.General);

    private static IEnumerable<CandidateRow> Rows(int seed, int count)
    {
        var random = new Random(seed);
        string? Text(string stem) => random.Next(20) switch
        {
            0 => null,
            1 => "",
            2 => stem + "-é\"\\<&>+'\u2028\u0001",
            3 => stem + new string('x', 80 + random.Next(40)),
            _ => stem + random.Next(1000),
        };
        var roles = Enum.GetValues<FunctionalRole>();
        for (var i = 0; i < count; i++)
        {
            var items = random.Next(15) == 0
                ? null
                : Enumerable.Range(0, random.Next(0, 25)).Select(k => new Candidate(random.Next(-2, 100), Text("i")!, Text("c")!,
                    random.Next(6) switch
                    {
                        0 => 0.0,
                        1 => -random.NextDouble() * 1e-300,
                        2 => random.NextDouble() * 1e300,
                        3 => Math.Round(random.NextDouble() * 10, 6),
                        _ => random.NextDouble(),
                    }, Text("s")!)
                {
                    Role = random.Next(3) == 0 ? null : roles[random.Next(roles.Length)],
                }).ToList();
            yield return new CandidateRow(Text("r")!, Text("u")!, random.Next(-1, 5000), items!)
            {
                Arm = random.Next(3) switch { 0 => null, 1 => Arm.Control, _ => Arm.Treatment },
            };
        }
    }

    private static IEnumerable<OutcomeEvent> Events(int seed, int count)
    {
        var random = new Random(seed);
        var types = Enum.GetValues<OutcomeType>();
        for (var i = 0; i < count; i++)
        {
            yield return new OutcomeEvent(random.Next(15) == 0 ? null! : $"u{random.Next(100)}-é", random.Next(15) == 0 ? null! : $"i{random.Next(1000)}",
                types[random.Next(types.Length)], random.NextInt64(-5, long.MaxValue), random.Next(3) == 0 ? null : $"run-{random.Next(3)}");
        }
    }

    [Fact]
    public void CandidateRows_AreWrittenAsTheGeneralSerializerWritesThem_AndReadBackToTheSameValues()
    {
        foreach (var row in Rows(seed: 7, count: 2000))
        {
            var expected = General(row);
            Assert.Equal(expected, Hot(row));
            var hot = JsonSerializer.Deserialize<CandidateRow>(expected, RoleGenJson.Options);
            Assert.Equal(expected, Canonical(hot));
        }
    }

    [Fact]
    public void CandidateRows_InIndentedDocumentsAndLists_AreWrittenAsTheGeneralSerializerWritesThem()
    {
        var rows = Rows(seed: 11, count: 50).ToList();
        var indented = new JsonSerializerOptions(RoleGenJson.General) { WriteIndented = true };
        Assert.Equal(JsonSerializer.Serialize(rows, indented), JsonSerializer.Serialize(rows, RoleGenJson.Indented));
        var refinable = rows.Select(r => new RefinableRow(r, ["a", "b"])).ToList();
        Assert.Equal(General(refinable), Hot(refinable));
    }

    [Fact]
    public void OutcomeEvents_AreWrittenAsTheGeneralSerializerWritesThem_AndReadBackToTheSameValues()
    {
        foreach (var e in Events(seed: 3, count: 2000))
        {
            var expected = General(e);
            Assert.Equal(expected, Hot(e));
            Assert.Equal(e, JsonSerializer.Deserialize<OutcomeEvent>(expected, RoleGenJson.Options));
        }
    }

    [Fact]
    public void ValuesWithoutAWrittenForm_FallBackToTheGeneralSerializer()
    {
        var undefinedArm = new CandidateRow("r", "u", 1, [new Candidate(1, "i", "c", 0.5, "s")]) { Arm = (Arm)7 };
        Assert.Equal(General(undefinedArm), Hot(undefinedArm));
        Assert.Contains("\"arm\":7", Hot(undefinedArm), StringComparison.Ordinal);
        var undefinedRole = new CandidateRow("r", "u", 1, [new Candidate(1, "i", "c", 0.5, "s") { Role = (FunctionalRole)200 }]);
        Assert.Equal(General(undefinedRole), Hot(undefinedRole));
        var undefinedType = new OutcomeEvent("u", "i", (OutcomeType)9, 5, null);
        Assert.Equal(General(undefinedType), Hot(undefinedType));
        var nonFinite = new CandidateRow("r", "u", 1, [new Candidate(1, "i", "c", double.NaN, "s")]);
        var general = Record.Exception(() => General(nonFinite));
        var hot = Record.Exception(() => Hot(nonFinite));
        Assert.NotNull(general);
        Assert.Equal(general.GetType(), hot?.GetType());
    }

    /// <summary>Spellings RoleGen never writes but the general serializer reads: every one is read to the same value.</summary>
    [Theory]
    [InlineData("""{"RunId":"r","userId":"u","shard":1,"items":[]}""")]
    [InlineData("""{"runId":"r","USERID":"u","shard":1,"items":[{"Rank":1,"itemId":"i","categoryId":"c","score":1,"source":"s"}]}""")]
    [InlineData("""{"runId":"r","userId":"u","shard":"12","items":[{"rank":"3","itemId":"i","categoryId":"c","score":"0.25","source":"s"}]}""")]
    [InlineData("""{"runId":"r","userId":"u","shard":1,"items":[],"arm":1}""")]
    [InlineData("""{"runId":"r","userId":"u","shard":1,"items":[],"arm":"Treatment"}""")]
    [InlineData("""{"runId":"r","userId":"u","shard":1,"items":[{"rank":1,"itemId":"i","categoryId":"c","score":1,"source":"s","role":"TRIGGER"}]}""")]
    [InlineData("""{"runId":"r","userId":"u","shard":1,"items":[{"rank":1,"itemId":"i","categoryId":"c","score":1,"source":"s","role":2}]}""")]
    [InlineData("""{"runId":"r","userId":"u","shard":1,"extra":{"a":[1,2,{"b":null}]},"items":[{"rank":1,"itemId":"i","more":[],"categoryId":"c","score":1,"source":"s"}]}""")]
    [InlineData("""{"runId":"r","userId":"u","shard":1,"items":[null,{"rank":1,"itemId":"i","categoryId":"c","score":1,"source":"s"}]}""")]
    [InlineData("""{"userId":"u"}""")]
    [InlineData("""{}""")]
    [InlineData("""{"runId":null,"userId":null,"shard":0,"items":null,"arm":null}""")]
    [InlineData("""{"run\u0049d":"r","userId":"u\u00e9\n","shard":1,"items":[{"rank":1,"itemId":"i\"x","categoryId":"c","score":1e-5,"source":"s","role":"anchor"}]}""")]
    [InlineData("""{ "runId" : "r" , "userId" : "u" , "shard" : 1 , "items" : [ { "rank" : 1 , "itemId" : "i" , "categoryId" : "c" , "score" : -0.0 , "source" : "s" } ] }""")]
    [InlineData("""{"runId":"a","runId":"b","userId":"u","shard":1,"items":[]}""")]
    public void CandidateRows_InOtherSpellings_ReadAsTheGeneralSerializerReadsThem(string json)
    {
        var expected = JsonSerializer.Deserialize<CandidateRow>(json, RoleGenJson.General);
        var hot = JsonSerializer.Deserialize<CandidateRow>(json, RoleGenJson.Options);
        Assert.Equal(Canonical(expected), Canonical(hot));
        if (expected?.Items is { } items)
        {
            Assert.Equal(items.Select(c => c?.ItemId), hot!.Items.Select(c => c?.ItemId));
        }
    }

    [Theory]
    [InlineData("""{"runId":"r","userId":"u","shard":1.5,"items":[]}""")]
    [InlineData("""{"runId":"r","userId":"u","shard":1,"items":[{"rank":1,"itemId":"i","categoryId":"c","score":"x","source":"s"}]}""")]
    [InlineData("""{"runId":"r","userId":"u","shard":null,"items":[]}""")]
    [InlineData("""{"runId":3,"userId":"u","shard":1,"items":[]}""")]
    [InlineData("""{"runId":"r","userId":"u","shard":1,"items":{}}""")]
    [InlineData("""{"runId":"r","userId":"u","shard":1,"items":[],"arm":"sideways"}""")]
    [InlineData("""[1,2]""")]
    public void CandidateRows_TheGeneralSerializerRefuses_AreRefusedTheSameWay(string json)
    {
        var general = Assert.ThrowsAny<JsonException>(() => JsonSerializer.Deserialize<CandidateRow>(json, RoleGenJson.General));
        var hot = Assert.ThrowsAny<JsonException>(() => JsonSerializer.Deserialize<CandidateRow>(json, RoleGenJson.Options));
        Assert.Equal(general.GetType(), hot.GetType());
    }

    [Theory]
    [InlineData("""{"UserId":"u","itemId":"i","type":"order","timestamp":5}""")]
    [InlineData("""{"userId":"u","itemId":"i","type":3,"timestamp":"5","runId":"r"}""")]
    [InlineData("""{"userId":"u","itemId":"i","type":"Click","timestamp":5,"extra":[1]}""")]
    [InlineData("""{"userId":"u","type":"click"}""")]
    [InlineData("""{"userId":"u","itemId":"i","type":"impression","timestamp":5,"runId":null}""")]
    public void OutcomeEvents_InOtherSpellings_ReadAsTheGeneralSerializerReadsThem(string json)
    {
        Assert.Equal(JsonSerializer.Deserialize<OutcomeEvent>(json, RoleGenJson.General), JsonSerializer.Deserialize<OutcomeEvent>(json, RoleGenJson.Options));
    }

    [Theory]
    [InlineData("""{"userId":"u","itemId":"i","type":"bought","timestamp":5}""")]
    [InlineData("""{"userId":"u","itemId":"i","type":"order","timestamp":5.5}""")]
    [InlineData("""{"userId":"u","itemId":"i","type":"order","timestamp":null}""")]
    public void OutcomeEvents_TheGeneralSerializerRefuses_AreRefusedTheSameWay(string json)
    {
        var general = Assert.ThrowsAny<JsonException>(() => JsonSerializer.Deserialize<OutcomeEvent>(json, RoleGenJson.General));
        var hot = Assert.ThrowsAny<JsonException>(() => JsonSerializer.Deserialize<OutcomeEvent>(json, RoleGenJson.Options));
        Assert.Equal(general.GetType(), hot.GetType());
    }

    /// <summary>Rows streamed from a blob in small reads (the serializer hands the converter whole rows whatever the
    /// buffer), as the feedback and refinement steps read them.</summary>
    [Fact]
    public async Task CandidateRows_StreamedInSmallReads_ReadAsTheGeneralSerializerReadsThem()
    {
        var rows = Rows(seed: 5, count: 300).ToList();
        var json = Encoding.UTF8.GetBytes(General(rows));
        var general = await JsonSerializer.DeserializeAsync<List<CandidateRow>>(new TrickleStream(json), RoleGenJson.General);
        var hot = await JsonSerializer.DeserializeAsync<List<CandidateRow>>(new TrickleStream(json), RoleGenJson.Options);
        Assert.Equal(Canonical(general), Canonical(hot));
    }

    /// <summary>The string pool keeps no more than its capacity and gives equal strings for equal values across clears.</summary>
    [Fact]
    public void PooledStrings_StayEqualToTheirValues_AcrossPoolClears()
    {
        var rows = Enumerable.Range(0, StringPool.Capacity + 500)
            .Select(i => new CandidateRow("r", "u", 0, [new Candidate(1, $"item-{i}", $"c{i % 7}", 1, "backbone")]))
            .ToList();
        foreach (var row in rows)
        {
            var back = JsonSerializer.Deserialize<CandidateRow>(Hot(row), RoleGenJson.Options)!;
            Assert.Equal(row.Items[0].ItemId, back.Items[0].ItemId);
            Assert.Equal(row.Items[0].CategoryId, back.Items[0].CategoryId);
        }
    }

    /// <summary>A stream that returns at most 7 bytes per read.</summary>
    private sealed class TrickleStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, 7));

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(buffer.Length, 7)], cancellationToken);
    }
}
