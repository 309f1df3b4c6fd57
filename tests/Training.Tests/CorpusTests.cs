using System.Text;
using System.Text.Json;
using RoleGen.Core.Events;
using RoleGen.Core.Ingest;
using RoleGen.Training.Data;
using RoleGen.Training.Model;

namespace RoleGen.Training.Tests;

public sealed class CorpusTests
{
    [Fact]
    public void Beauty_lines_become_purchase_sequences_with_frequency_ordered_tokens()
    {
        var corpus = SequenceCorpus.FromBeauty(new StringReader("1 10 20 30\n2 20 30\n\n3 30 40 20 10\n"));
        Assert.Equal(["1", "2", "3"], corpus.UserIds);
        Assert.Equal(4, corpus.NumItems);
        // counts: 20→3, 30→3, 10→2, 40→1; ties by ordinal id.
        Assert.Equal("20", corpus.Vocabulary.IdOf(1));
        Assert.Equal("30", corpus.Vocabulary.IdOf(2));
        Assert.Equal("10", corpus.Vocabulary.IdOf(3));
        Assert.Equal("40", corpus.Vocabulary.IdOf(4));
        Assert.Equal([3, 1, 2], corpus.ItemSeqs[0]);
        Assert.Equal([2, 4, 1, 3], corpus.ItemSeqs[2]);
        Assert.All(corpus.ActionSeqs.SelectMany(a => a), a => Assert.Equal(ActionTokens.Purchase, a));
        Assert.Equal(9, corpus.EventCount);
    }

    [Fact]
    public void Events_stream_through_Core_EventReader_into_sorted_collapsed_sequences()
    {
        const string csv = """
            user_id,item_id,category_id,event_type,timestamp
            u1,A,c1,view,100
            u1,B,c2,view,300
            u1,A,c1,view,101
            u1,A,c1,cart,102
            u2,B,c2,view,50
            u2,C,c3,purchase,60
            u1,B,c9,purchase,400
            bad,row
            u3,A,c1,view,10
            """;
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(csv));
        var corpus = SequenceCorpus.FromEventStream(stream, EventFormat.Normalized, new EventCorpusOptions(), out var stats);

        Assert.Equal(8, stats.EventsRead);
        Assert.Equal(1, stats.RowsQuarantined);
        Assert.Equal(3, stats.UsersSeen);
        Assert.Equal(2, stats.UsersKept); // u3 has one event
        Assert.Equal(3, corpus.NumItems);
        // counts: A→4 (u1 ×3, u3), B→3, C→1.
        Assert.Equal("A", corpus.Vocabulary.IdOf(1));
        Assert.Equal("B", corpus.Vocabulary.IdOf(2));
        Assert.Equal("c9", corpus.Vocabulary.CategoryOf(2)); // last category seen
        var u1 = corpus.UserIds.ToList().IndexOf("u1");
        // u1 by time: A view 100, A view 101 (collapsed), A cart 102, B view 300, B purchase 400.
        Assert.Equal([1, 1, 2, 2], corpus.ItemSeqs[u1]);
        Assert.Equal([ActionTokens.View, ActionTokens.Cart, ActionTokens.View, ActionTokens.Purchase], corpus.ActionSeqs[u1]);
        var u2 = corpus.UserIds.ToList().IndexOf("u2");
        Assert.Equal([2, 3], corpus.ItemSeqs[u2]);
        Assert.Equal(6, stats.EventsUsed);
    }

    [Fact]
    public void Event_options_cap_the_vocabulary_and_keep_repeats_when_asked()
    {
        var events = new[]
        {
            new BehaviorEvent("u", "A", "c", EventType.View, 1),
            new BehaviorEvent("u", "A", "c", EventType.View, 2),
            new BehaviorEvent("u", "B", "c", EventType.View, 3),
            new BehaviorEvent("u", "A", "c", EventType.Purchase, 4),
            new BehaviorEvent("v", "C", "c", EventType.View, 1),
            new BehaviorEvent("v", "A", "c", EventType.View, 2),
        };
        var capped = SequenceCorpus.FromEvents(events, new EventCorpusOptions { MaxItems = 1 }, out var stats);
        Assert.Equal(1, capped.NumItems);
        Assert.Equal(1, stats.UsersKept); // v keeps only A: one event
        Assert.Equal([1, 1], capped.ItemSeqs[0]); // A view (collapsed ×2), A purchase

        var raw = SequenceCorpus.FromEvents(events, new EventCorpusOptions { CollapseRepeats = false, MinItemCount = 2 }, out _);
        Assert.Equal(1, raw.NumItems); // only A is seen twice or more
        Assert.Equal([1, 1, 1], raw.ItemSeqs[0]);
    }

    [Fact]
    public void Vocabulary_round_trips_through_vocab_json()
    {
        using var dir = TestSupport.NewTempDir();
        var vocabulary = new ItemVocabulary(["x", "y", "z"], ["1", "2", "0"]);
        var path = dir.File("vocab.json");
        vocabulary.Save(path, new BackboneOptions { MaxLength = 50 });

        using (var doc = JsonDocument.Parse(File.ReadAllText(path)))
        {
            var root = doc.RootElement;
            Assert.Equal(VocabularyFile.FormatName, root.GetProperty("format").GetString());
            Assert.Equal(3, root.GetProperty("numItems").GetInt32());
            Assert.Equal(50, root.GetProperty("maxLength").GetInt32());
            Assert.Equal(0, root.GetProperty("padToken").GetInt32());
            Assert.Equal(4, root.GetProperty("actions").GetProperty("purchase").GetInt32());
            Assert.Equal(["cart", "purchase"], root.GetProperty("conversionActions").EnumerateArray().Select(e => e.GetString()!));
            Assert.Equal("y", root.GetProperty("itemIds")[1].GetString());
            Assert.Equal("2", root.GetProperty("itemCategories")[1].GetString());
        }
        var loaded = ItemVocabulary.Load(path);
        Assert.Equal(3, loaded.Count);
        Assert.True(loaded.TryGetToken("z", out var z));
        Assert.Equal(3, z);
        Assert.Equal("2", loaded.CategoryOf(2));
        Assert.Throws<ArgumentOutOfRangeException>(() => loaded.IdOf(0));
    }

    [Fact]
    public void Corpus_rejects_tokens_outside_the_vocabulary()
    {
        var vocabulary = new ItemVocabulary(["a", "b"]);
        Assert.Throws<ArgumentException>(() => new SequenceCorpus(vocabulary, [[1, 3]], [[1, 1]]));
        Assert.Throws<ArgumentException>(() => new SequenceCorpus(vocabulary, [[1, 0]], [[1, 1]]));
        Assert.Throws<ArgumentException>(() => new SequenceCorpus(vocabulary, [[1, 2]], [[1, 5]]));
        Assert.Throws<ArgumentException>(() => new SequenceCorpus(vocabulary, [[1, 2]], [[1]]));
    }

    [Fact]
    public void Leave_one_out_holds_out_the_last_two_items()
    {
        var split = LeaveOneOutSplit.Create([[1, 2, 3, 4, 5], [6, 7]], [[1, 1, 1, 3, 4], [1, 4]]);
        Assert.Equal([1, 2, 3], split.TrainItems[0]);
        Assert.Equal([1, 1, 1], split.TrainActions[0]);
        Assert.Equal([6, 7], split.TrainItems[1]); // too short to evaluate: trains on everything
        var validation = Assert.Single(split.Validation);
        Assert.Equal([1, 2, 3], validation.Items);
        Assert.Equal(4, validation.Target);
        var test = Assert.Single(split.Test);
        Assert.Equal([1, 2, 3, 4], test.Items);
        Assert.Equal([1, 1, 1, 3], test.Actions);
        Assert.Equal(5, test.Target);
    }

    [Fact]
    public void Batches_are_right_aligned_and_truncated_to_the_most_recent_events()
    {
        var data = SequenceBatch.RightAligned([[1, 2, 3, 4], [5]], 3);
        Assert.Equal([2L, 3, 4, 0, 0, 5], data);
        using var exclude = SequenceBatch.ExcludeTensor([[3, 3, 4], []]);
        Assert.Equal(new long[] { 2, 2 }, exclude.shape);
        Assert.Equal([3L, 4, 0, 0], exclude.data<long>().ToArray());
    }
}
