using System.Text.Json;
using RoleGen.Training.Data;
using RoleGen.Training.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace RoleGen.Training.Tests;

public sealed class TrainerTests
{
    private static TrainingOptions Fast(int epochs = 25, long seed = 11, List<string>? log = null) => new()
    {
        Epochs = epochs,
        BatchSize = 32,
        LearningRate = 5e-3,
        Patience = epochs,
        Seed = seed,
        Threads = 1,
        EvalBatchSize = 64,
        Log = log is null ? null : log.Add,
    };

    [Fact]
    public void Learns_the_toy_world_next_item_and_conversion()
    {
        var corpus = TestSupport.ToyCorpus();
        var lines = new List<string>();
        using var trained = BackboneTrainer.Train(corpus, TestSupport.TinyModel(), Fast(epochs: 60, log: lines) with { ConversionLossWeight = 1.0 });
        var metrics = trained.Metrics;

        Assert.NotNull(metrics.BestValidation);
        Assert.True(metrics.BestValidation.Recall > 0.9, $"validation Recall@10 {metrics.BestValidation.Recall}");
        Assert.NotNull(metrics.Test);
        Assert.True(metrics.Test.Recall > 0.8, $"test Recall@10 {metrics.Test.Recall}");
        Assert.True(metrics.Epochs[^1].Loss < metrics.Epochs[0].Loss);
        Assert.Contains(lines, l => l.StartsWith("epoch   1/60 loss", StringComparison.Ordinal) && l.Contains("val Recall@10", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("test Recall@10", StringComparison.Ordinal));

        // Conversion head: in the toy world the next action is a conversion iff the next item's token ≡ 1 or 3 (mod 3).
        var model = trained.Model;
        var histories = Enumerable.Range(1, 24).Select(t => new[] { (t + 22) % 24 + 1, t }).ToArray(); // …, t
        using var items = SequenceBatch.RightAlignedTensor(histories, model.Options.MaxLength);
        // The toy world's own actions: token x is a cart when (x - 1) % 3 == 2, a purchase when it is 0, a view otherwise.
        static int ActionOf(int x) => (x - 1) % 3 == 2 ? ActionTokens.Cart : (x - 1) % 3 == 0 ? ActionTokens.Purchase : ActionTokens.View;
        using var actions = SequenceBatch.RightAlignedTensor(histories.Select(h => h.Select(ActionOf).ToArray()).ToArray(), model.Options.MaxLength);
        using var exclude = SequenceBatch.ExcludeTensor(histories);
        var (top, _, conversion) = model.Score(items, actions, exclude, 1);
        var p = conversion.data<float>().ToArray();
        var next = top.data<long>().ToArray();
        var positive = Enumerable.Range(0, 24).Where(i => (i + 1) % 3 != 1).Select(i => p[i]).ToArray(); // next token t+1 with (t+1-1)%3 ∈ {0, 2}
        var negative = Enumerable.Range(0, 24).Where(i => (i + 1) % 3 == 1).Select(i => p[i]).ToArray();
        var correct = Enumerable.Range(0, 24).Count(i => (p[i] > 0.5f) == ((i + 1) % 3 != 1));
        Assert.True(correct >= 21 && positive.Average() - negative.Average() > 0.4,
            $"conversion: {correct}/24 right at 0.5, mean {positive.Average():F2} vs {negative.Average():F2}; p = {string.Join(" ", p.Select(x => x.ToString("F2", System.Globalization.CultureInfo.InvariantCulture)))}");
        Assert.True(Enumerable.Range(0, 24).Count(i => next[i] == i % 24 + 2 || (i == 23 && next[i] == 1)) >= 20);
    }

    [Fact]
    public void Same_seed_gives_identical_runs_and_another_seed_does_not()
    {
        var corpus = TestSupport.ToyCorpus(users: 60);
        using var a = BackboneTrainer.Train(corpus, TestSupport.TinyModel(), Fast(epochs: 3));
        using var b = BackboneTrainer.Train(corpus, TestSupport.TinyModel(), Fast(epochs: 3));
        using var c = BackboneTrainer.Train(corpus, TestSupport.TinyModel(), Fast(epochs: 3, seed: 12));
        Assert.Equal(a.Metrics.Epochs.Select(e => e.Loss), b.Metrics.Epochs.Select(e => e.Loss));
        Assert.Equal(a.Metrics.BestValidation, b.Metrics.BestValidation);
        var wa = a.Model.state_dict();
        var wb = b.Model.state_dict();
        Assert.All(wa, kv => Assert.True(kv.Value.eq(wb[kv.Key]).all().item<bool>(), kv.Key));
        Assert.NotEqual(a.Metrics.Epochs.Select(e => e.Loss), c.Metrics.Epochs.Select(e => e.Loss));
    }

    [Fact]
    public void Per_position_sampled_loss_matches_a_hand_computation_with_the_repeat_bonus()
    {
        torch.random.manual_seed(3);
        using var net = new SequenceBackbone(24, TestSupport.TinyModel(maxLength: 6) with { Dropout = 0 });
        using (torch.no_grad())
        {
            foreach (var (name, parameter) in net.named_parameters().Where(p => p.name.StartsWith("repeat_", StringComparison.Ordinal)))
            {
                torch.nn.init.normal_(parameter, 0, 1.5); // the head starts at zero: give it bonuses to map
            }
        }
        net.eval();
        int[][] rows = [[3, 5, 3, 7, 5, 9], [0, 0, 2, 2, 4, 6], [1, 8, 8, 8, 10, 11]];
        int[][] actionRows = [[1, 1, 3, 1, 2, 4], [0, 0, 1, 3, 1, 1], [1, 1, 1, 2, 1, 3]];
        using var items = SequenceBatch.RightAlignedTensor(rows, 6);
        using var actions = SequenceBatch.RightAlignedTensor(actionRows, 6);
        // Targets chosen so that some are in their own window (the target gets its bonus) and some are not.
        long[] flatIndex = [0, 2, 3, 5, 8, 9, 11, 12, 14, 17];
        long[] targets = [3, 5, 3, 20, 2, 4, 6, 8, 8, 12];
        using var hidden = net.forward(items, actions);
        var repeat = net.RepeatBonus(hidden, items, actions)!.Value;
        using var index = torch.tensor(flatIndex, ScalarType.Int64);
        using var target = torch.tensor(targets, ScalarType.Int64);
        using var flat = hidden.reshape(-1, 16).index_select(0, index);
        const int negatives = 40; // > V: accidental hits and window items are drawn
        torch.random.manual_seed(99);
        using var loss = BackboneTrainer.PerPositionSampledLoss(net, flat, target, index, items, repeat, negatives);
        torch.random.manual_seed(99);
        using var chunked = BackboneTrainer.PerPositionSampledLoss(net, flat, target, index, items, repeat, negatives, maxBlock: 60); // 2 positions a block
        torch.random.manual_seed(99);
        using var sampled = torch.randint(1, 25, new long[] { flatIndex.Length, negatives }, dtype: ScalarType.Int64);

        var s = sampled.data<long>().ToArray();
        var h = hidden.reshape(-1, 16).data<float>().ToArray();
        var e = net.ItemEmbedding.detach().data<float>().ToArray();
        var bonus = repeat.Bonus.data<float>().ToArray(); // [B, l, l]
        var keys = repeat.Keys.data<long>().ToArray();
        double Score(long f, long token)
        {
            double dot = 0;
            for (var k = 0; k < 16; k++)
            {
                dot += h[f * 16 + k] * e[token * 16 + k];
            }
            for (var j = 0; j < 6; j++)
            {
                if (keys[f * 6 + j] == token)
                {
                    dot += bonus[f * 6 + j];
                }
            }
            return dot;
        }
        double expected = 0;
        var hits = 0;
        for (var p = 0; p < flatIndex.Length; p++)
        {
            var positive = Score(flatIndex[p], targets[p]);
            var sum = Math.Exp(positive);
            for (var k = 0; k < negatives; k++)
            {
                var token = s[p * negatives + k];
                if (token == targets[p])
                {
                    hits++;
                    continue;
                }
                sum += Math.Exp(Score(flatIndex[p], token));
            }
            expected += Math.Log(sum) - positive;
        }
        expected /= flatIndex.Length;
        Assert.True(hits > 0, "the check needs accidental hits");
        Assert.True(Math.Abs(repeat.Bonus.abs().sum().item<float>()) > 1, "the check needs a repeat bonus");
        Assert.Equal(expected, loss.item<float>(), 4);
        Assert.Equal(expected, chunked.item<float>(), 4);
    }

    [Fact]
    public void Per_position_sampling_learns_the_toy_world()
    {
        var corpus = TestSupport.ToyCorpus();
        using var trained = BackboneTrainer.Train(corpus, TestSupport.TinyModel(),
            Fast(epochs: 40) with { Loss = NextItemLoss.SampledSoftmax, Negatives = 8, Sampling = NegativeSampling.PerPosition });
        Assert.True(trained.Metrics.BestValidation!.Recall > 0.9, $"validation Recall@10 {trained.Metrics.BestValidation.Recall}");
        Assert.Equal(NegativeSampling.PerPosition, trained.Metrics.Training.Sampling);
    }

    [Fact]
    public void Early_stopping_keeps_the_best_validation_epoch()
    {
        var corpus = TestSupport.ToyCorpus(users: 60);
        // A learning rate this high makes validation fall back quickly: patience must end the run.
        var options = Fast(epochs: 40) with { Patience = 2, LearningRate = 0.05, Loss = NextItemLoss.SampledSoftmax, Negatives = 8 };
        using var trained = BackboneTrainer.Train(corpus, TestSupport.TinyModel(), options);
        var m = trained.Metrics;
        var best = m.Epochs.Where(e => e.Validation is not null).MaxBy(e => e.Validation!.Ndcg)!;
        Assert.Equal(best.Epoch, m.BestEpoch);
        Assert.Equal(best.Validation, m.BestValidation);
        if (m.StopReason == "patience")
        {
            Assert.Equal(m.BestEpoch + 2, m.Epochs.Count);
        }
        else
        {
            Assert.Equal(40, m.Epochs.Count);
        }
        // The restored weights are the best epoch's: re-evaluating validation reproduces its metrics.
        var split = LeaveOneOutSplit.Create(corpus.ItemSeqs, corpus.ActionSeqs);
        var again = BackboneTrainer.Evaluate(trained.Model, split.Validation, 10);
        Assert.Equal(m.BestValidation!.Recall, again.Recall, 9);
        Assert.Equal(m.BestValidation.Ndcg, again.Ndcg, 9);
    }

    [Fact]
    public void TrainAndExport_writes_model_vocab_and_metrics()
    {
        using var dir = TestSupport.NewTempDir();
        var corpus = TestSupport.ToyCorpus(users: 40);
        var result = BackboneExport.TrainAndExport(corpus, TestSupport.TinyModel(), Fast(epochs: 2), dir.Path);

        Assert.True(File.Exists(Path.Combine(dir.Path, "model.onnx")));
        Assert.Equal(Path.Combine(dir.Path, "vocab.json"), result.VocabularyPath);
        var vocab = ItemVocabulary.Load(result.VocabularyPath);
        Assert.Equal(corpus.NumItems, vocab.Count);
        Assert.Equal("cat1", vocab.CategoryOf(1));
        using var doc = JsonDocument.Parse(File.ReadAllText(result.MetricsPath));
        var root = doc.RootElement;
        Assert.Equal("rolegen-backbone-train-metrics/1", root.GetProperty("format").GetString());
        Assert.Equal(2, root.GetProperty("epochs").GetArrayLength());
        Assert.Equal(16, root.GetProperty("model").GetProperty("dim").GetInt32());
        Assert.Equal("SampledSoftmax", root.GetProperty("training").GetProperty("loss").GetString());
        Assert.True(root.GetProperty("bestValidation").GetProperty("recall").GetDouble() >= 0);
        Assert.True(root.GetProperty("test").GetProperty("users").GetInt32() > 0);
        Assert.Equal(result.Metrics.BestEpoch, root.GetProperty("bestEpoch").GetInt32());
    }

    [Fact]
    public void Rejects_bad_options()
    {
        var corpus = TestSupport.ToyCorpus(users: 5);
        Assert.Throws<ArgumentException>(() => BackboneTrainer.Train(corpus, TestSupport.TinyModel() with { Heads = 3 }, Fast()));
        Assert.Throws<ArgumentException>(() => BackboneTrainer.Train(corpus, TestSupport.TinyModel(), Fast() with { BatchSize = 0 }));
    }
}
