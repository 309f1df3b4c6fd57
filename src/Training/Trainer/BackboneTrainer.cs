using System.Diagnostics;
using System.Globalization;
using RoleGen.Training.Data;
using RoleGen.Training.Model;
using RoleGen.Training.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace RoleGen.Training;

/// <summary>A trained backbone (weights of the best validation epoch, eval mode) and how it got there.</summary>
public sealed class TrainedBackbone(SequenceBackbone model, TrainingMetrics metrics) : IDisposable
{
    public SequenceBackbone Model { get; } = model;

    public TrainingMetrics Metrics { get; } = metrics;

    public void Dispose() => Model.Dispose();
}

/// <summary>
/// Trains <see cref="SequenceBackbone"/> on leave-one-out splits: next-item cross-entropy (full or sampled softmax) at every
/// non-pad position plus <see cref="TrainingOptions.ConversionLossWeight"/> × BCE of the conversion head (label: the next
/// action is cart/purchase). Validation Recall@K/NDCG@K (full ranking, history excluded) after every
/// <see cref="TrainingOptions.EvalEvery"/> epochs; early stopping on validation NDCG@K with <see cref="TrainingOptions.Patience"/>;
/// the best epoch's weights are restored. Seeded: torch's generator (init, dropout, negatives) and the data order.
/// Batches are length-bucketed (shuffle, sort chunks of 50 batches by length, shuffle the batches) and trimmed to
/// their longest sequence, which the right-aligned positions make exact.
/// </summary>
public static class BackboneTrainer
{
    private const int BucketBatches = 50;

    public static TrainedBackbone Train(SequenceCorpus corpus, BackboneOptions model, TrainingOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(corpus);
        return Train(corpus.ItemSeqs, corpus.ActionSeqs, corpus.NumItems, model, options, cancellationToken, CategoryIndex(corpus.Vocabulary));
    }

    /// <summary>Category index per token (0 = pad and unknown categories "0"/""), numbered by first appearance.</summary>
    public static int[] CategoryIndex(ItemVocabulary vocabulary)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        var result = new int[vocabulary.Count + 1];
        for (var t = 1; t <= vocabulary.Count; t++)
        {
            var category = vocabulary.CategoryOf(t);
            if (string.IsNullOrEmpty(category) || category == "0")
            {
                continue;
            }
            if (!index.TryGetValue(category, out var c))
            {
                index[category] = c = index.Count + 1;
            }
            result[t] = c;
        }
        return result;
    }

    /// <param name="itemSeqs">Per user, chronological item tokens 1..<paramref name="numItems"/>.</param>
    /// <param name="actionSeqs">Per user, action tokens 1..4 (view, fav, cart, purchase), same lengths.</param>
    public static TrainedBackbone Train(
        IReadOnlyList<int[]> itemSeqs,
        IReadOnlyList<int[]> actionSeqs,
        int numItems,
        BackboneOptions model,
        TrainingOptions options,
        CancellationToken cancellationToken = default,
        IReadOnlyList<int>? itemCategories = null)
    {
        ArgumentNullException.ThrowIfNull(itemSeqs);
        ArgumentNullException.ThrowIfNull(actionSeqs);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        model.Validate();
        options.Validate();
        TorchNative.EnsureLoadable();

        var total = Stopwatch.StartNew();
        var threads = options.Threads > 0 ? options.Threads : Environment.ProcessorCount;
        torch.set_num_threads(threads);
        torch.random.manual_seed(options.Seed);
        var log = options.Log ?? (_ => { });

        var split = LeaveOneOutSplit.Create(itemSeqs, actionSeqs);
        var trainUsers = Enumerable.Range(0, split.TrainItems.Count).Where(u => split.TrainItems[u].Length >= 2).ToArray();
        if (trainUsers.Length == 0)
        {
            throw new ArgumentException("no user has two or more training events", nameof(itemSeqs));
        }
        var trainPositions = trainUsers.Sum(u => (long)Math.Min(model.MaxLength, split.TrainItems[u].Length - 1));

        var net = new SequenceBackbone(numItems, model, itemCategories);
        var parameterCount = net.parameters().Sum(p => p.numel());
        using var optimizer = torch.optim.Adam(net.parameters(), options.LearningRate, 0.9, 0.98, 1e-8, options.WeightDecay);
        var rng = new Random(unchecked((int)options.Seed));
        log($"backbone: {numItems} items, {itemSeqs.Count} users ({trainUsers.Length} train, {split.Validation.Count} validation), " +
            $"{trainPositions} train positions, {parameterCount} parameters, d={model.Dim} layers={model.Layers} heads={model.Heads} L={model.MaxLength}, " +
            $"{(net.HasCategoryEmbeddings ? "category embeddings, " : "")}{(model.RepeatHead ? "repeat head, " : "")}{(options.Loss == NextItemLoss.SampledSoftmax && options.Negatives < numItems ? $"sampled softmax ({options.Negatives} negatives{(options.Sampling == NegativeSampling.PerPosition ? " per position" : "")})" : "full softmax")}, batch {options.BatchSize}, lr {options.LearningRate}, {threads} threads, seed {options.Seed}");

        var epochs = new List<EpochMetrics>();
        Dictionary<string, Tensor>? best = null;
        RankingMetrics? bestValidation = null;
        var bestEpoch = 0;
        var sinceBest = 0;
        var stopReason = "epochs";
        try
        {
            for (var epoch = 1; epoch <= options.Epochs; epoch++)
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    stopReason = "cancelled";
                    break;
                }
                var trainWatch = Stopwatch.StartNew();
                net.train();
                double lossSum = 0, itemSum = 0, convSum = 0;
                long positions = 0;
                foreach (var batch in Batches(trainUsers, split, options.BatchSize, rng))
                {
                    var (loss, itemLoss, convLoss, n) = Step(net, optimizer, split, batch, options);
                    lossSum += loss * n;
                    itemSum += itemLoss * n;
                    convSum += convLoss * n;
                    positions += n;
                }
                trainWatch.Stop();

                RankingMetrics? validation = null;
                var evalWatch = Stopwatch.StartNew();
                var validate = split.Validation.Count > 0 && (epoch % options.EvalEvery == 0 || epoch == options.Epochs);
                if (validate)
                {
                    validation = Evaluate(net, split.Validation, options.MetricK, options.EvalBatchSize, options.ExcludeHistory);
                }
                evalWatch.Stop();
                var metrics = new EpochMetrics(epoch, lossSum / positions, itemSum / positions, convSum / positions,
                    trainWatch.Elapsed.TotalSeconds, validation, evalWatch.Elapsed.TotalSeconds);
                epochs.Add(metrics);

                var improved = false;
                if (validation is not null)
                {
                    if (bestValidation is null || validation.Ndcg > bestValidation.Ndcg)
                    {
                        improved = true;
                        bestValidation = validation;
                        bestEpoch = epoch;
                        sinceBest = 0;
                        DisposeAll(best);
                        best = Snapshot(net);
                    }
                    else
                    {
                        sinceBest++;
                    }
                }
                var valText = validation is null
                    ? ""
                    : FormattableString.Invariant($"val Recall@{validation.K} {validation.Recall:F4} NDCG@{validation.K} {validation.Ndcg:F4}{(improved ? " *" : "")} ");
                log(FormattableString.Invariant(
                    $"epoch {epoch,3}/{options.Epochs} loss {metrics.Loss:F4} (item {metrics.ItemLoss:F4}, conversion {metrics.ConversionLoss:F4}) {valText}train {metrics.TrainSeconds:F1}s eval {metrics.EvalSeconds:F1}s"));

                if (validation is not null && sinceBest >= options.Patience)
                {
                    stopReason = "patience";
                    break;
                }
                if (options.TimeBudget is { } budget && total.Elapsed >= budget)
                {
                    stopReason = "time-budget";
                    break;
                }
            }

            if (best is not null)
            {
                net.load_state_dict(best);
            }
            else
            {
                bestEpoch = epochs.Count; // no validation split: keep the last epoch
            }
        }
        finally
        {
            DisposeAll(best);
        }
        net.eval();

        var calibration = split.Validation.Count > 0 ? Calibration(net, split.Validation, options.EvalBatchSize) : null;
        if (calibration is not null)
        {
            log(string.Create(CultureInfo.InvariantCulture,
                $"conversion head on validation: {calibration.Cases} cases, {calibration.Positives} positive, AUC {(calibration.Auc is { } auc ? auc.ToString("F4", CultureInfo.InvariantCulture) : "n/a")}, ECE {calibration.Ece:F4}, Brier {calibration.Brier:F4}"));
        }
        RankingMetrics? test = null;
        if (options.EvaluateTest && split.Test.Count > 0)
        {
            test = Evaluate(net, split.Test, options.MetricK, options.EvalBatchSize, options.ExcludeHistory);
            log(string.Create(CultureInfo.InvariantCulture,
                $"best epoch {bestEpoch} ({stopReason}); test Recall@{test.K} {test.Recall:F4} NDCG@{test.K} {test.Ndcg:F4} over {test.Users} users"));
        }
        total.Stop();
        var result = new TrainingMetrics
        {
            Model = model,
            Training = options,
            NumItems = numItems,
            Users = itemSeqs.Count,
            TrainPositions = trainPositions,
            Parameters = parameterCount,
            Epochs = epochs,
            BestEpoch = bestEpoch,
            BestValidation = bestValidation,
            ValidationConversion = calibration,
            Test = test,
            StopReason = stopReason,
            MeanTrainSecondsPerEpoch = epochs.Count == 0 ? 0 : epochs.Average(e => e.TrainSeconds),
            TotalSeconds = total.Elapsed.TotalSeconds,
            Threads = threads,
            TorchSharpVersion = typeof(torch).Assembly.GetName().Version?.ToString() ?? "",
        };
        log(string.Create(CultureInfo.InvariantCulture,
            $"training done: {epochs.Count} epochs, {result.MeanTrainSecondsPerEpoch:F1}s/epoch, {result.TotalSeconds:F0}s total, best epoch {bestEpoch}"));
        return new TrainedBackbone(net, result);
    }

    /// <summary>Recall@K and NDCG@K: for each case, the model reads the case's last L events, every item of its history
    /// (and the pad token) is excluded, and the target's rank among all remaining items is counted (ties rank in its favour).</summary>
    public static RankingMetrics Evaluate(SequenceBackbone model, IReadOnlyList<EvalCase> cases, int k, int batchSize = 512, bool excludeHistory = true) =>
        Evaluate(model, cases, k, batchSize, excludeHistory, null);

    /// <summary>The conversion head on <paramref name="cases"/> (label: <see cref="EvalCase.TargetAction"/> is cart/purchase;
    /// cases with an unknown action are skipped).</summary>
    public static ConversionCalibration Calibration(SequenceBackbone model, IReadOnlyList<EvalCase> cases, int batchSize = 512)
    {
        ArgumentNullException.ThrowIfNull(cases);
        var known = cases.Where(c => c.TargetAction != 0).ToArray();
        var predictions = new List<(double P, bool Label)>(known.Length);
        Evaluate(model, known, 1, batchSize, true, predictions);
        return ConversionCalibration.Measure(predictions);
    }

    private static RankingMetrics Evaluate(SequenceBackbone model, IReadOnlyList<EvalCase> cases, int k, int batchSize, bool excludeHistory,
        List<(double P, bool Label)>? conversions)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(cases);
        var wasTraining = model.training;
        model.eval();
        // Bound the [batch, V+1] score matrix (~128 MB) for large vocabularies.
        batchSize = (int)Math.Clamp((1L << 25) / (model.NumItems + 1), 1, Math.Max(1, batchSize));
        double hits = 0, ndcg = 0;
        try
        {
            using var noGrad = torch.no_grad();
            var order = Enumerable.Range(0, cases.Count).OrderBy(i => Math.Min(cases[i].Items.Length, model.Options.MaxLength)).ToArray();
            for (var start = 0; start < order.Length; start += batchSize)
            {
                using var scope = torch.NewDisposeScope();
                var batch = order.Skip(start).Take(batchSize).Select(i => cases[i]).ToArray();
                var width = SequenceBatch.Width(batch.Select(c => c.Items), model.Options.MaxLength);
                var items = SequenceBatch.RightAlignedTensor(batch.Select(c => c.Items).ToArray(), width);
                var actions = SequenceBatch.RightAlignedTensor(batch.Select(c => c.Actions).ToArray(), width);
                var exclude = SequenceBatch.ExcludeTensor(batch.Select(c => excludeHistory ? c.Items : (IEnumerable<int>)[]).ToArray());
                var targets = torch.tensor(batch.Select(c => (long)c.Target).ToArray(), ScalarType.Int64).unsqueeze(1);
                var hidden = model.forward(items, actions);
                var logits = SequenceBackbone.MaskedLogits(model.LastItemScores(hidden, items, actions), exclude);
                if (conversions is not null)
                {
                    var p = model.ConversionLogits(hidden.select(1, -1)).sigmoid().data<float>().ToArray();
                    for (var i = 0; i < batch.Length; i++)
                    {
                        conversions.Add((p[i], SequenceBatch.IsConversion(batch[i].TargetAction)));
                    }
                }
                var targetScore = logits.gather(1, targets);
                var ranks = logits.gt(targetScore).sum(1).data<long>().ToArray();
                foreach (var rank in ranks)
                {
                    if (rank < k)
                    {
                        hits++;
                        ndcg += 1.0 / Math.Log2(rank + 2);
                    }
                }
            }
        }
        finally
        {
            model.train(wasTraining);
        }
        var n = Math.Max(1, cases.Count);
        return new RankingMetrics(k, cases.Count, hits / n, ndcg / n);
    }

    private static (double Loss, double ItemLoss, double ConversionLoss, long Positions) Step(
        SequenceBackbone net, optim.Optimizer optimizer, LeaveOneOutSplit split, int[] users, TrainingOptions options)
    {
        using var scope = torch.NewDisposeScope();
        var maxLength = net.Options.MaxLength;
        var inputs = users.Select(u => split.TrainItems[u][..^1]).ToArray();
        var inputActions = users.Select(u => split.TrainActions[u][..^1]).ToArray();
        var targets = users.Select(u => split.TrainItems[u][1..]).ToArray();
        var targetActions = users.Select(u => split.TrainActions[u][1..]).ToArray();
        var width = SequenceBatch.Width(inputs, maxLength);
        var items = SequenceBatch.RightAlignedTensor(inputs, width);
        var actions = SequenceBatch.RightAlignedTensor(inputActions, width);
        var targetFlat = SequenceBatch.RightAligned(targets, width);
        var actionFlat = SequenceBatch.RightAligned(targetActions, width);
        var valid = new List<long>(targetFlat.Length);
        for (var i = 0; i < targetFlat.Length; i++)
        {
            if (targetFlat[i] != 0)
            {
                valid.Add(i);
            }
        }
        var index = torch.tensor(valid.ToArray(), ScalarType.Int64);
        var target = torch.tensor(valid.Select(i => targetFlat[i]).ToArray(), ScalarType.Int64);
        var conversionLabel = torch.tensor(valid.Select(i => SequenceBatch.IsConversion((int)actionFlat[i]) ? 1f : 0f).ToArray());

        optimizer.zero_grad();
        var hidden = net.forward(items, actions);
        var flat = hidden.reshape(-1, net.Options.Dim).index_select(0, index);
        // Repeat head: bonus [B, l, l] of each query position for the items of its (causal) window.
        var repeat = net.RepeatBonus(hidden, items, actions);
        Tensor itemLoss;
        if (options.Loss == NextItemLoss.FullSoftmax || options.Negatives >= net.NumItems)
        {
            var logits = net.ItemLogits(flat); // [n, V+1]
            if (repeat is (var bonus, var keys))
            {
                var l = items.shape[1];
                logits = logits.scatter_add(1, keys.reshape(-1, l).index_select(0, index), bonus.reshape(-1, l).index_select(0, index));
            }
            itemLoss = nn.functional.cross_entropy(logits.narrow(1, 1, net.NumItems), target - 1);
        }
        else if (options.Sampling == NegativeSampling.PerPosition)
        {
            itemLoss = PerPositionSampledLoss(net, flat, target, index, items, repeat, options.Negatives);
        }
        else
        {
            var embedding = net.ItemEmbedding;
            // Distinct uniform negatives (each item at most once, so a negative's repeat bonus is well defined).
            var negatives = torch.randperm(net.NumItems, dtype: ScalarType.Int64).narrow(0, 0, options.Negatives) + 1L;
            var positive = (flat * embedding.index_select(0, target)).sum(-1, keepdim: true);
            var negative = flat.matmul(embedding.index_select(0, negatives).t());
            if (repeat is (var bonus, var keys))
            {
                var b = items.shape[0];
                var l = items.shape[1];
                var targetGrid = torch.tensor(targetFlat, ScalarType.Int64).view(b, l, 1);
                var targetBonus = (bonus * keys.eq(targetGrid).to_type(bonus.dtype)).sum(2).reshape(-1).index_select(0, index);
                positive = positive + targetBonus.unsqueeze(1);
                // Map each key token to its column among the negatives (the extra column N collects everything else).
                var column = torch.full(new long[] { net.NumItems + 1 }, (long)options.Negatives, dtype: ScalarType.Int64);
                column.index_put_(torch.arange(options.Negatives, dtype: ScalarType.Int64), negatives);
                var negativeBonus = torch.zeros(b, l, options.Negatives + 1, dtype: bonus.dtype)
                    .scatter_add(2, column.index_select(0, keys.reshape(-1)).view(b, l, l), bonus)
                    .narrow(2, 0, options.Negatives).reshape(-1, options.Negatives).index_select(0, index);
                negative = negative + negativeBonus;
            }
            negative = negative.masked_fill(target.unsqueeze(1).eq(negatives.unsqueeze(0)), SequenceBackbone.MinusInfinity);
            var logits = torch.cat(new[] { positive, negative }, 1);
            itemLoss = nn.functional.cross_entropy(logits, torch.zeros(valid.Count, dtype: ScalarType.Int64));
        }
        var conversionLoss = nn.functional.binary_cross_entropy_with_logits(net.ConversionLogits(flat), conversionLabel);
        var loss = itemLoss + conversionLoss * options.ConversionLossWeight;
        loss.backward();
        if (options.GradientClip > 0)
        {
            nn.utils.clip_grad_norm_(net.parameters(), options.GradientClip);
        }
        optimizer.step();
        return (loss.item<float>(), itemLoss.item<float>(), conversionLoss.item<float>(), valid.Count);
    }

    /// <summary>Sampled softmax with <paramref name="negatives"/> uniform items (with replacement) drawn for each of the n
    /// positions on its own. <paramref name="flat"/> [n, d] hidden states of the valid positions, <paramref name="target"/> [n]
    /// their target tokens, <paramref name="index"/> [n] their flat index into the [B, l] grid. With the repeat head, a
    /// negative that occurs in its position's window gets that window's bonus, as the target does. A negative equal to the
    /// target is masked (an accidental hit). The scores are gathered from each position's full score row (one GEMM, in
    /// chunks of positions so the [chunk, V+1] block stays ~16 MB): on CPU that is several times faster than gathering an
    /// [n, N, d] block of negative vectors, and the repeat bonus is added exactly as at scoring time.</summary>
    internal static Tensor PerPositionSampledLoss(SequenceBackbone net, Tensor flat, Tensor target, Tensor index, Tensor items,
        (Tensor Bonus, Tensor Keys)? repeat, int negatives, long maxBlock = 1L << 22)
    {
        using var scope = torch.NewDisposeScope();
        var n = flat.shape[0];
        var tokens = net.NumItems + 1L;
        var embeddingT = net.ItemEmbedding.t(); // [d, V+1]
        var sampled = torch.randint(1, tokens, new long[] { n, negatives }, dtype: ScalarType.Int64); // [n, N]
        var l = items.shape[1];
        var windowKeys = repeat is (_, var k) ? k.reshape(-1, l).index_select(0, index) : null; // [n, l] (0 where masked)
        var windowBonus = repeat is (var b, _) ? b.reshape(-1, l).index_select(0, index) : null;
        var chunk = Math.Max(1L, maxBlock / tokens);
        var total = torch.zeros(1);
        for (var start = 0L; start < n; start += chunk)
        {
            var c = Math.Min(chunk, n - start);
            var scores = flat.narrow(0, start, c).matmul(embeddingT); // [c, V+1]
            if (windowKeys is not null)
            {
                scores = scores.scatter_add(1, windowKeys.narrow(0, start, c), windowBonus!.narrow(0, start, c));
            }
            var t = target.narrow(0, start, c).unsqueeze(1);
            var s = sampled.narrow(0, start, c);
            var positive = scores.gather(1, t);
            var negative = scores.gather(1, s).masked_fill(s.eq(t), SequenceBackbone.MinusInfinity);
            var logits = torch.cat(new[] { positive, negative }, 1);
            total = total + nn.functional.cross_entropy(logits, torch.zeros(c, dtype: ScalarType.Int64), reduction: nn.Reduction.Sum);
        }
        return (total.squeeze(0) / n).MoveToOuterDisposeScope();
    }

    /// <summary>Seeded, length-bucketed batches of user indices.</summary>
    internal static List<int[]> Batches(int[] users, LeaveOneOutSplit split, int batchSize, Random rng)
    {
        var shuffled = users.ToArray();
        rng.Shuffle(shuffled);
        var batches = new List<int[]>();
        var chunk = batchSize * BucketBatches;
        for (var start = 0; start < shuffled.Length; start += chunk)
        {
            var sorted = shuffled.Skip(start).Take(chunk).OrderBy(u => split.TrainItems[u].Length).ToArray();
            for (var b = 0; b < sorted.Length; b += batchSize)
            {
                batches.Add(sorted.Skip(b).Take(batchSize).ToArray());
            }
        }
        var order = batches.ToArray();
        rng.Shuffle(order);
        return order.ToList();
    }

    private static Dictionary<string, Tensor> Snapshot(SequenceBackbone net) =>
        net.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());

    private static void DisposeAll(Dictionary<string, Tensor>? tensors)
    {
        if (tensors is null)
        {
            return;
        }
        foreach (var t in tensors.Values)
        {
            t.Dispose();
        }
        tensors.Clear();
    }
}
