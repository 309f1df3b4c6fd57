using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using RoleGen.Training.Model;
using RoleGen.Training.Onnx;
using RoleGen.Training.Onnx.Proto;
using TorchSharp;
using Xunit.Abstractions;

namespace RoleGen.Training.Tests;

/// <summary>The exported graph against TorchSharp, run in ONNX Runtime (CPU).</summary>
public sealed class OnnxParityTests : IDisposable
{
    private const int NumItems = 40;
    private const int L = 10;
    private readonly TrainedBackbone _trained;
    private readonly InferenceSession _session;
    private readonly ITestOutputHelper _output;

    public OnnxParityTests(ITestOutputHelper output)
    {
        _output = output;
        // Train briefly so that the weights are not the initial ones (biases, norms, conversion head all move).
        var corpus = TestSupport.ToyCorpus(users: 80, numItems: NumItems, maxLength: 14);
        _trained = BackboneTrainer.Train(corpus, TestSupport.TinyModel(maxLength: L) with { Dim = 32, Heads = 4 }, new TrainingOptions
        {
            Epochs = 3, BatchSize = 16, LearningRate = 3e-3, Seed = 5, Threads = 1, EvaluateTest = false,
        });
        using var options = new SessionOptions { IntraOpNumThreads = 1 };
        _session = new InferenceSession(BackboneOnnxExporter.ExportToBytes(_trained.Model), options);
    }

    public void Dispose()
    {
        _session.Dispose();
        _trained.Dispose();
    }

    private (long[] Items, float[] Scores, float[] Conversion, int K) RunOnnx(long[] items, long[] actions, long[] exclude, int batch, int excludeWidth, long k) =>
        RunOnnx(_session, items, actions, exclude, batch, excludeWidth, k);

    private static (long[] Items, float[] Scores, float[] Conversion, int K) RunOnnx(InferenceSession session, long[] items, long[] actions, long[] exclude, int batch, int excludeWidth, long k)
    {
        using var itemsValue = OrtValue.CreateTensorValueFromMemory(items, [batch, L]);
        using var actionsValue = OrtValue.CreateTensorValueFromMemory(actions, [batch, L]);
        using var excludeValue = OrtValue.CreateTensorValueFromMemory(exclude, [batch, excludeWidth]);
        using var kValue = OrtValue.CreateTensorValueFromMemory(new[] { k }, [1]);
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions,
            ["items", "actions", "exclude", "k"], [itemsValue, actionsValue, excludeValue, kValue],
            ["top_items", "top_scores", "conversion"]);
        var shape = outputs[0].GetTensorTypeAndShape().Shape;
        Assert.Equal(batch, shape[0]);
        return (outputs[0].GetTensorDataAsSpan<long>().ToArray(), outputs[1].GetTensorDataAsSpan<float>().ToArray(),
            outputs[2].GetTensorDataAsSpan<float>().ToArray(), (int)shape[1]);
    }

    private (long[] Items, float[] Scores, float[] Conversion) RunTorch(long[] items, long[] actions, long[] exclude, int batch, int excludeWidth, long k)
    {
        using var itemsT = torch.tensor(items, [batch, L]);
        using var actionsT = torch.tensor(actions, [batch, L]);
        using var excludeT = torch.tensor(exclude, [batch, excludeWidth]);
        var (top, scores, conversion) = _trained.Model.Score(itemsT, actionsT, excludeT, k);
        using (top)
        using (scores)
        using (conversion)
        {
            return (top.data<long>().ToArray(), scores.data<float>().ToArray(), conversion.data<float>().ToArray());
        }
    }

    private static (long[] Items, long[] Actions, long[] Exclude, int ExcludeWidth) RandomBatch(int batch, int seed)
    {
        var rng = new Random(seed);
        var histories = Enumerable.Range(0, batch).Select(b =>
            Enumerable.Range(0, rng.Next(1, L + 6)).Select(_ => rng.Next(1, NumItems + 1)).ToArray()).ToArray(); // some longer than L
        var actions = histories.Select(h => h.Select(_ => rng.Next(1, 5)).ToArray()).ToArray();
        var excludeWidth = histories.Max(h => h.Distinct().Count());
        var exclude = new long[batch * excludeWidth];
        for (var b = 0; b < batch; b++)
        {
            var distinct = histories[b].Distinct().ToArray();
            for (var j = 0; j < distinct.Length; j++)
            {
                exclude[b * excludeWidth + j] = distinct[j];
            }
        }
        return (SequenceBatch.RightAligned(histories, L), SequenceBatch.RightAligned(actions, L), exclude, excludeWidth);
    }

    /// <summary>The repeat head (items of the window get gate(h) + ρ[recency] + α[action] added, duplicates summed) with
    /// nothing excluded, histories full of repeats and non-zero repeat weights: ONNX Runtime matches TorchSharp and the
    /// head changes the ranking (history items move into the top-10).</summary>
    [Theory]
    [InlineData(1, 301)]
    [InlineData(33, 302)]
    public void Repeat_head_matches_torchsharp_with_nothing_excluded(int batch, int seed)
    {
        var model = _trained.Model;
        Assert.NotNull(model.RepeatGate);
        var rng = new Random(seed);
        var histories = Enumerable.Range(0, batch).Select(_ =>
            Enumerable.Range(0, rng.Next(2, L + 6)).Select(_ => rng.Next(1, 8)).ToArray()).ToArray(); // items 1..7: many repeats
        var actionRows = histories.Select(h => h.Select(_ => rng.Next(1, 5)).ToArray()).ToArray();
        var items = SequenceBatch.RightAligned(histories, L);
        var actions = SequenceBatch.RightAligned(actionRows, L);
        var withoutHead = RunTorch(items, actions, [], batch, 0, 10).Items;
        using (torch.no_grad())
        {
            model.RepeatGate!.bias!.fill_(20.0);
            model.RepeatRecency!.copy_(torch.linspace(1.0, -1.0, L));
            model.RepeatAction!.copy_(torch.tensor(new float[] { 0f, 0.5f, -0.5f, 1f, 2f }));
        }
        using var session = new InferenceSession(BackboneOnnxExporter.ExportToBytes(model));
        var onnx = RunOnnx(session, items, actions, [], batch, 0, 10);
        var torchResult = RunTorch(items, actions, [], batch, 0, 10);
        Assert.Equal(torchResult.Items, onnx.Items);
        var scoreDelta = onnx.Scores.Zip(torchResult.Scores, (a, b) => Math.Abs(a - b)).Max();
        _output.WriteLine($"batch {batch}: repeat head max |Δscore| {scoreDelta:E2}");
        Assert.True(scoreDelta <= 1e-4, $"max |Δscore| = {scoreDelta}");
        // With a bias of 20 per occurrence every history item (1..7) outranks the rest: the head is live in both runtimes.
        for (var b = 0; b < batch; b++)
        {
            var seen = histories[b].TakeLast(L).Select(t => (long)t).ToHashSet();
            Assert.Equal(seen.Order(), onnx.Items.Skip(b * 10).Take(seen.Count).Order());
        }
        Assert.NotEqual(withoutHead, torchResult.Items);
    }

    /// <summary>The head's training-time bonus (every query position, sampled or full softmax) is the serving-time one at
    /// the last position.</summary>
    [Fact]
    public void Repeat_bonus_of_the_last_query_is_the_serving_bonus()
    {
        var model = _trained.Model;
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        model.eval();
        var rows = new[] { new[] { 3, 5, 3, 3, 9 }, new[] { 2, 2 } };
        var items = SequenceBatch.RightAlignedTensor(rows, 5);
        var actions = SequenceBatch.RightAlignedTensor(rows.Select(r => r.Select(_ => 1).ToArray()).ToArray(), 5);
        var hidden = model.forward(items, actions);
        var all = model.RepeatBonus(hidden, items, actions)!.Value;
        var last = model.RepeatBonus(hidden.narrow(1, 4, 1), items, actions)!.Value;
        Assert.True(all.Bonus.select(1, 4).allclose(last.Bonus.squeeze(1)));
        Assert.True(all.Keys.select(1, 4).equal(last.Keys.squeeze(1)).all().item<bool>());
        // Causal: query 0 of row 0 sees only key 0; pads (row 1, columns 0..2) add nothing.
        Assert.Equal(new long[] { 3, 0, 0, 0, 0 }, all.Keys[0, 0].data<long>().ToArray());
        Assert.Equal(new long[] { 0, 0, 0, 2, 2 }, all.Keys[1, 4].data<long>().ToArray());
        Assert.Equal(0f, all.Bonus[1, 4, 0].item<float>());
    }

    [Theory]
    [InlineData(1, 101)]
    [InlineData(7, 102)]
    [InlineData(64, 103)]
    public void Onnx_runtime_matches_torchsharp(int batch, int seed)
    {
        var (items, actions, exclude, width) = RandomBatch(batch, seed);
        var onnx = RunOnnx(items, actions, exclude, batch, width, 10);
        var torchResult = RunTorch(items, actions, exclude, batch, width, 10);

        Assert.Equal(10, onnx.K);
        Assert.Equal(torchResult.Items, onnx.Items); // identical top-10 lists, in order
        var scoreDelta = onnx.Scores.Zip(torchResult.Scores, (a, b) => Math.Abs(a - b)).Max();
        var conversionDelta = onnx.Conversion.Zip(torchResult.Conversion, (a, b) => Math.Abs(a - b)).Max();
        _output.WriteLine($"batch {batch}: max |Δscore| {scoreDelta:E2}, max |Δconversion| {conversionDelta:E2}");
        Assert.True(scoreDelta <= 1e-4, $"max |Δscore| = {scoreDelta}");
        Assert.True(conversionDelta <= 1e-4, $"max |Δconversion| = {conversionDelta}");
        Assert.Equal(batch, onnx.Conversion.Length);
        // Seen items and the pad token are never recommended.
        for (var b = 0; b < batch; b++)
        {
            var seen = exclude.Skip(b * width).Take(width).ToHashSet();
            Assert.All(onnx.Items.Skip(b * 10).Take(10), t => Assert.DoesNotContain(t, seen));
            Assert.All(onnx.Items.Skip(b * 10).Take(10), t => Assert.InRange(t, 1, NumItems));
        }
    }

    [Theory]
    [InlineData(1, 201)]
    [InlineData(33, 202)]
    public void Conversion_only_graph_matches_the_full_graphs_conversion(int batch, int seed)
    {
        var (items, actions, exclude, width) = RandomBatch(batch, seed);
        var full = RunOnnx(items, actions, exclude, batch, width, 5);
        var bytes = BackboneOnnxExporter.ExportConversionToBytes(_trained.Model);
        var proto = ModelProto.Parser.ParseFrom(bytes);
        Assert.Equal(["items", "actions"], proto.Graph.Input.Select(i => i.Name));
        Assert.Equal(["conversion"], proto.Graph.Output.Select(o => o.Name));
        Assert.DoesNotContain(proto.Graph.Node, n => n.OpType == "TopK");
        using var options = new SessionOptions { IntraOpNumThreads = 1 };
        using var session = new InferenceSession(bytes, options);
        using var itemsValue = OrtValue.CreateTensorValueFromMemory(items, [batch, L]);
        using var actionsValue = OrtValue.CreateTensorValueFromMemory(actions, [batch, L]);
        using var runOptions = new RunOptions();
        using var outputs = session.Run(runOptions, ["items", "actions"], [itemsValue, actionsValue], ["conversion"]);
        var conversion = outputs[0].GetTensorDataAsSpan<float>().ToArray();

        Assert.Equal(batch, conversion.Length);
        var delta = conversion.Zip(full.Conversion, (a, b) => Math.Abs(a - b)).Max();
        _output.WriteLine($"batch {batch}: max |Δconversion| conversion-only vs full graph {delta:E2}");
        Assert.True(delta <= 1e-6, $"max |Δconversion| = {delta}");
    }

    /// <summary>The counterfactual world model (Infrastructure) on a trained backbone: do(show x) is exactly "x viewed as the
    /// newest step" — Evaluate(user, [x]).WithIntervention equals Evaluate(user + view of x, []).Base — and the
    /// conversion-only graph gives the same numbers as the full graph.</summary>
    [Fact]
    public void Counterfactual_world_model_appends_the_shown_item_as_the_newest_view()
    {
        var ids = Enumerable.Range(1, NumItems).Select(t => $"i{t}").ToArray();
        var vocab = new RoleGen.Infrastructure.Scoring.BackboneVocabulary { NumItems = NumItems, MaxLength = L, ItemIds = ids, ItemCategories = ids.Select(_ => "c").ToArray() };
        var scoring = new RoleGen.Infrastructure.Scoring.ScoringOptions { IntraOpThreads = 1 };
        var reference = new RoleGen.Core.Scoring.ScoringModelRef("backbone-onnx", "t", "");
        RoleGen.Infrastructure.Scoring.OnnxBackbone Session(byte[] bytes) =>
            RoleGen.Infrastructure.Scoring.OnnxBackbone.Create(bytes, L, scoring, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        using var full = new RoleGen.Infrastructure.Scoring.BackboneRecommender(Session(BackboneOnnxExporter.ExportToBytes(_trained.Model)), vocab, reference, 4);
        using var split = new RoleGen.Infrastructure.Scoring.BackboneRecommender(Session(BackboneOnnxExporter.ExportToBytes(_trained.Model)), vocab, reference, 4,
            Session(BackboneOnnxExporter.ExportConversionToBytes(_trained.Model)));
        var steps = new[] { 3, 7, 7, 12 }.Select((t, i) => new RoleGen.Core.Cohort.TrajectoryStep($"i{t}", "c", i == 2 ? RoleGen.Core.Events.EventType.Cart : RoleGen.Core.Events.EventType.View, 100 + i)).ToArray();
        var user = new RoleGen.Core.Cohort.UserTrajectory("u", 3, 1, 0, 1, steps, []);
        var shown = new RoleGen.Core.Cohort.TrajectoryStep("i5", "c", RoleGen.Core.Events.EventType.View, 200);
        var withShown = user with { Steps = [.. steps, shown] };
        RoleGen.Core.Reasoning.Intervention X(string item) => new(item, "c", RoleGen.Core.Reasoning.FunctionalRole.Trigger, "c", "test");

        foreach (var recommender in new[] { full, split })
        {
            var world = new RoleGen.Infrastructure.Scoring.BackboneCounterfactualModel(recommender, batchSize: 3);
            var asked = world.Evaluate([user, user], [[X("i5"), X("unknown-item")], []]);
            var direct = world.Evaluate([withShown], [[]]);
            Assert.Equal(direct.Base[0], asked.WithIntervention[0][0], 6);
            Assert.True(double.IsNaN(asked.WithIntervention[0][1]));
            Assert.Empty(asked.WithIntervention[1]);
            Assert.Equal(asked.Base[0], asked.Base[1], 6);
            Assert.NotEqual(asked.Base[0], asked.WithIntervention[0][0]);
            Assert.Contains(recommender == split ? "conversion-only graph" : "full graph", world.Name, StringComparison.Ordinal);
        }
        var a = new RoleGen.Infrastructure.Scoring.BackboneCounterfactualModel(full, 8).Evaluate([user], [[X("i5")]]);
        var b = new RoleGen.Infrastructure.Scoring.BackboneCounterfactualModel(split, 8).Evaluate([user], [[X("i5")]]);
        Assert.Equal(a.Base[0], b.Base[0], 6);
        Assert.Equal(a.WithIntervention[0][0], b.WithIntervention[0][0], 6);
    }

    /// <summary>vocab.json's collapseRepeats: serving keeps one step of each run of one (item, action), as the corpus did in
    /// training; without the flag the run is encoded step by step.</summary>
    [Fact]
    public void Serving_collapses_consecutive_repeats_when_the_vocabulary_says_so()
    {
        var ids = Enumerable.Range(1, NumItems).Select(t => $"i{t}").ToArray();
        RoleGen.Infrastructure.Scoring.BackboneRecommender Recommender(bool collapse) => new(
            RoleGen.Infrastructure.Scoring.OnnxBackbone.Create(BackboneOnnxExporter.ExportToBytes(_trained.Model), L,
                new RoleGen.Infrastructure.Scoring.ScoringOptions { IntraOpThreads = 1 }, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance),
            new RoleGen.Infrastructure.Scoring.BackboneVocabulary { NumItems = NumItems, MaxLength = L, ItemIds = ids, CollapseRepeats = collapse },
            new RoleGen.Core.Scoring.ScoringModelRef("backbone-onnx", "t", ""), 4);
        RoleGen.Core.Cohort.UserTrajectory User(params (int Item, RoleGen.Core.Events.EventType Type)[] steps) => new("u", 3, 1, 0, 1,
            steps.Select((s, i) => new RoleGen.Core.Cohort.TrajectoryStep($"i{s.Item}", "c", s.Type, 100 + i)).ToArray(), []);
        const RoleGen.Core.Events.EventType View = RoleGen.Core.Events.EventType.View;
        const RoleGen.Core.Events.EventType Cart = RoleGen.Core.Events.EventType.Cart;
        var raw = User((3, View), (7, View), (7, View), (7, View), (7, Cart), (99, View), (12, View), (12, View));
        var collapsed = User((3, View), (7, View), (7, Cart), (12, View));
        using var collapsing = Recommender(collapse: true);
        using var plain = Recommender(collapse: false);
        var a = collapsing.ScoreBatch([raw], 0, 1, 10);
        var b = plain.ScoreBatch([collapsed], 0, 1, 10);
        var c = plain.ScoreBatch([raw], 0, 1, 10);
        Assert.Equal(b.Recommendations[0].Items.Select(x => x.ItemId), a.Recommendations[0].Items.Select(x => x.ItemId));
        Assert.Equal(b.Conversion[0], a.Conversion[0], 6);
        Assert.NotEqual(c.Conversion[0], a.Conversion[0]);
    }

    [Fact]
    public void Empty_exclude_and_k_above_the_vocabulary_never_return_pad()
    {
        var (items, actions, _, _) = RandomBatch(3, 104);
        var onnx = RunOnnx(items, actions, [], 3, 0, 1000);
        Assert.Equal(NumItems, onnx.K); // k clamps to V
        Assert.DoesNotContain(0L, onnx.Items);
        for (var b = 0; b < 3; b++)
        {
            Assert.Equal(Enumerable.Range(1, NumItems).Select(i => (long)i), onnx.Items.Skip(b * NumItems).Take(NumItems).Order());
        }
        Assert.All(onnx.Scores, s => Assert.True(float.IsFinite(s)));
        var torchResult = RunTorch(items, actions, [], 3, 0, 1000);
        Assert.Equal(torchResult.Items, onnx.Items);
    }

    [Fact]
    public void Excluded_items_only_appear_past_the_available_items_with_minus_infinity()
    {
        var (items, actions, _, _) = RandomBatch(1, 105);
        long[] exclude = [5, 6, 7, 0, 0];
        var onnx = RunOnnx(items, actions, exclude, 1, 5, NumItems);
        Assert.Equal(NumItems - 3, onnx.Scores.Count(float.IsFinite));
        Assert.Equal([5L, 6, 7], onnx.Items.Skip(NumItems - 3).Order());
        Assert.All(onnx.Scores.Skip(NumItems - 3), s => Assert.True(float.IsNegativeInfinity(s)));
        Assert.DoesNotContain(0L, onnx.Items);
    }

    /// <summary>The default candidate graph (TopK picks k + E candidates, the exclusion is applied to those only) gives the reference
    /// graph's top items and scores: random batches with repeats and exclusions, a strongly positive and a strongly negative
    /// repeat head (history items pushed into or out of the top), k = V with exclusions and k above V, no exclusion column.</summary>
    [Theory]
    [InlineData(40, 0f, 10, 401)]
    [InlineData(40, 20f, 10, 402)]
    [InlineData(40, -20f, 10, 403)]
    [InlineData(40, 0f, 40, 404)]
    [InlineData(40, 3f, 1000, 405)]
    [InlineData(300, 0f, 20, 406)]
    [InlineData(300, 8f, 20, 407)]
    [InlineData(300, -8f, 20, 408)]
    [InlineData(300, 2f, 1, 409)]
    public void Candidate_graph_matches_the_reference_graph(int numItems, float gateBias, long k, int seed)
    {
        torch.random.manual_seed(seed);
        using var model = numItems == NumItems ? null : new SequenceBackbone(numItems, TestSupport.TinyModel(maxLength: L) with { Dim = 32, Heads = 4 });
        var net = model ?? _trained.Model;
        net.eval();
        using (torch.no_grad())
        {
            if (gateBias != 0f)
            {
                net.RepeatGate!.bias!.fill_(gateBias);
                net.RepeatRecency!.copy_(torch.linspace(1.0, -1.0, L));
                net.RepeatAction!.copy_(torch.tensor(new float[] { 0f, 0.5f, -0.5f, 1f, 2f }));
            }
        }
        using var options = new SessionOptions { IntraOpNumThreads = 1 };
        using var candidates = new InferenceSession(BackboneOnnxExporter.ExportToBytes(net, graph: ScoringGraph.Candidates), options);
        using var reference = new InferenceSession(BackboneOnnxExporter.ExportToBytes(net, graph: ScoringGraph.Reference), options);
        var rng = new Random(seed);
        const int batch = 24;
        var histories = Enumerable.Range(0, batch).Select(b =>
            Enumerable.Range(0, rng.Next(1, L + 6)).Select(_ => rng.Next(1, b % 2 == 0 ? 8 : numItems + 1)).ToArray()).ToArray(); // even rows: many repeats
        var actionRows = histories.Select(h => h.Select(_ => rng.Next(1, 5)).ToArray()).ToArray();
        var items = SequenceBatch.RightAligned(histories, L);
        var actions = SequenceBatch.RightAligned(actionRows, L);
        foreach (var width in new[] { 0, 5 })
        {
            // Excluded: some history items, some random items, pads.
            var exclude = new long[batch * width];
            for (var i = 0; i < exclude.Length; i++)
            {
                exclude[i] = rng.Next(3) switch { 0 => 0, 1 => histories[i / width][rng.Next(histories[i / width].Length)], _ => rng.Next(1, numItems + 1) };
            }
            var a = RunOnnx(candidates, items, actions, exclude, batch, width, k);
            var r = RunOnnx(reference, items, actions, exclude, batch, width, k);
            Assert.Equal(r.K, a.K);
            Assert.Equal(r.Conversion, a.Conversion);
            var maxDelta = 0f;
            for (var b = 0; b < batch; b++)
            {
                var finite = r.Scores.Skip(b * r.K).Take(r.K).Count(float.IsFinite);
                Assert.Equal(r.Items.Skip(b * r.K).Take(finite), a.Items.Skip(b * a.K).Take(finite)); // same items, same order
                // Past the available items both list the excluded ones at −∞ (each once; their order is not part of the contract).
                Assert.Equal(r.Items.Skip(b * r.K + finite).Take(r.K - finite).Order(), a.Items.Skip(b * a.K + finite).Take(a.K - finite).Order());
                Assert.Equal(a.K, a.Items.Skip(b * a.K).Take(a.K).Distinct().Count());
                for (var j = 0; j < r.K; j++)
                {
                    var (x, y) = (a.Scores[b * a.K + j], r.Scores[b * r.K + j]);
                    Assert.Equal(float.IsFinite(y), float.IsFinite(x));
                    if (float.IsFinite(y))
                    {
                        maxDelta = Math.Max(maxDelta, Math.Abs(x - y));
                    }
                }
            }
            _output.WriteLine($"V={numItems}, gate bias {gateBias}, k={k}, E={width}: max |Δscore| {maxDelta:E2}");
            Assert.True(maxDelta <= 1e-5, $"max |Δscore| = {maxDelta}");
        }
    }

    /// <summary>Intra-op spinning is off by default (measured faster on this shared machine) and does not change a score.</summary>
    [Fact]
    public void Scoring_without_intra_op_spinning_is_the_default_and_gives_the_same_scores()
    {
        Assert.False(new RoleGen.Infrastructure.Scoring.ScoringOptions().IntraOpSpinning);
        var (items, actions, exclude, width) = RandomBatch(16, 501);
        var bytes = BackboneOnnxExporter.ExportToBytes(_trained.Model);
        (long[], float[], float[]) Run(bool spinning)
        {
            using var backbone = RoleGen.Infrastructure.Scoring.OnnxBackbone.Create(bytes, L,
                new RoleGen.Infrastructure.Scoring.ScoringOptions { IntraOpThreads = 2, IntraOpSpinning = spinning }, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
            return backbone.Run(items, actions, exclude, 16, width, 10);
        }
        var (spinItems, spinScores, spinConversion) = Run(true);
        var (items2, scores2, conversion2) = Run(false);
        Assert.Equal(spinItems, items2);
        Assert.Equal(spinScores, scores2);
        Assert.Equal(spinConversion, conversion2);
    }

    [Fact]
    public void Graph_declares_the_contract()
    {
        var proto = ModelProto.Parser.ParseFrom(BackboneOnnxExporter.ExportToBytes(_trained.Model));
        Assert.Equal(17, proto.OpsetImport.Single(o => o.Domain == "").Version);
        Assert.Equal(2, proto.Graph.Node.Count(n => n.OpType == "TopK")); // candidates, then the top-K among them
        Assert.Single(proto.Graph.Node, n => n.OpType == "ScatterElements"); // the repeat bonus only: no exclusion pass over [B, V]
        Assert.Contains(proto.Graph.Initializer, t => t.Name == "item_emb.weight_t" && t.Dims.SequenceEqual(new long[] { 32, NumItems }));
        var referenceGraph = BackboneOnnxExporter.Build(_trained.Model, graph: ScoringGraph.Reference).Graph;
        Assert.Single(referenceGraph.Node, n => n.OpType == "TopK");
        Assert.Equal(2, referenceGraph.Node.Count(n => n.OpType == "ScatterElements")); // repeat bonus, exclusion
        Assert.Contains(proto.Graph.Initializer, t => t.Name == "item_emb.weight" && t.Dims.SequenceEqual(new long[] { NumItems + 1, 32 }));
        var meta = proto.MetadataProps.ToDictionary(p => p.Key, p => p.Value);
        Assert.Equal("rolegen-backbone-onnx/1", meta["rolegen.format"]);
        Assert.Equal($"{NumItems}", meta["num_items"]);
        Assert.Equal($"{L}", meta["max_length"]);

        Assert.Equal(["items", "actions", "exclude", "k"], _session.InputNames);
        Assert.Equal(["top_items", "top_scores", "conversion"], _session.OutputNames);
        Assert.Equal([-1, L], _session.InputMetadata["items"].Dimensions);
        Assert.Equal([-1, -1], _session.InputMetadata["exclude"].Dimensions);
        Assert.Equal(typeof(long), _session.InputMetadata["k"].ElementType);
        Assert.Equal(typeof(long), _session.OutputMetadata["top_items"].ElementType);
        Assert.Equal(typeof(float), _session.OutputMetadata["top_scores"].ElementType);
        Assert.Equal([-1], _session.OutputMetadata["conversion"].Dimensions);
        Assert.Equal($"{NumItems}", _session.ModelMetadata.CustomMetadataMap["num_items"]);
    }
}
