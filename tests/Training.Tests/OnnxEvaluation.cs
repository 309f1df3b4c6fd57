using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using RoleGen.Training.Data;

namespace RoleGen.Training.Tests;

/// <summary>Test-split Recall@10/NDCG@10 computed the way the scoring adapter will: vocab.json maps ids to tokens,
/// model.onnx (ONNX Runtime, CPU) ranks with the history excluded inside the graph.</summary>
internal static class OnnxEvaluation
{
    public static int Run(string dataPath, string runDir)
    {
        var vocabulary = ItemVocabulary.Load(Path.Combine(runDir, "vocab.json"));
        var corpus = SequenceCorpus.FromBeautyFile(dataPath);
        using var sessionOptions = new SessionOptions { IntraOpNumThreads = Environment.ProcessorCount };
        using var session = new InferenceSession(Path.Combine(runDir, "model.onnx"), sessionOptions);
        var maxLength = int.Parse(session.ModelMetadata.CustomMetadataMap["max_length"], System.Globalization.CultureInfo.InvariantCulture);
        // Re-tokenise through the written vocabulary (as the adapter does), then take each user's test case.
        var itemSeqs = corpus.ItemSeqs.Select(s => s.Select(t => vocabulary.TryGetToken(corpus.Vocabulary.IdOf(t), out var token) ? token : throw new InvalidDataException("unknown item")).ToArray()).ToArray();
        var split = LeaveOneOutSplit.Create(itemSeqs, corpus.ActionSeqs);
        const int k = 10;
        const int batchSize = 256;
        double hits = 0, ndcg = 0;
        var watch = Stopwatch.StartNew();
        using var runOptions = new RunOptions();
        for (var start = 0; start < split.Test.Count; start += batchSize)
        {
            var batch = split.Test.Skip(start).Take(batchSize).ToArray();
            var items = SequenceBatch.RightAligned(batch.Select(c => c.Items).ToArray(), maxLength);
            var actions = SequenceBatch.RightAligned(batch.Select(c => c.Actions).ToArray(), maxLength);
            var sets = batch.Select(c => c.Items.Distinct().ToArray()).ToArray();
            var width = sets.Max(x => x.Length);
            var exclude = new long[batch.Length * width];
            for (var b = 0; b < batch.Length; b++)
            {
                for (var j = 0; j < sets[b].Length; j++)
                {
                    exclude[b * width + j] = sets[b][j];
                }
            }
            using var itemsValue = OrtValue.CreateTensorValueFromMemory(items, [batch.Length, maxLength]);
            using var actionsValue = OrtValue.CreateTensorValueFromMemory(actions, [batch.Length, maxLength]);
            using var excludeValue = OrtValue.CreateTensorValueFromMemory(exclude, [batch.Length, width]);
            using var kValue = OrtValue.CreateTensorValueFromMemory(new long[] { k }, [1]);
            using var outputs = session.Run(runOptions, ["items", "actions", "exclude", "k"], [itemsValue, actionsValue, excludeValue, kValue], ["top_items"]);
            var top = outputs[0].GetTensorDataAsSpan<long>();
            for (var b = 0; b < batch.Length; b++)
            {
                for (var r = 0; r < k; r++)
                {
                    if (top[b * k + r] == batch[b].Target)
                    {
                        hits++;
                        ndcg += 1.0 / Math.Log2(r + 2);
                        break;
                    }
                }
            }
        }
        var n = split.Test.Count;
        Console.WriteLine(FormattableString.Invariant(
            $"ONNX Runtime test split: {n} users, Recall@{k} {hits / n:F4}, NDCG@{k} {ndcg / n:F4}, {watch.Elapsed.TotalSeconds:F1}s ({n / watch.Elapsed.TotalSeconds:F0} users/s)"));
        return 0;
    }
}
