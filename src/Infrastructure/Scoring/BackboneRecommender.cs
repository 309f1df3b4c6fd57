using RoleGen.Core.Cohort;
using RoleGen.Core.Events;
using RoleGen.Core.Scoring;

namespace RoleGen.Infrastructure.Scoring;

/// <summary>The scoring port on the ONNX backbone: each user's last <c>MaxLength</c> known steps (item + action tokens,
/// right-aligned) go in, the graph masks the user's bought items and returns the top-K. Items unknown to the vocabulary
/// are skipped (they carry no learned embedding); a user with no known step is scored from position embeddings alone
/// (source <c>backbone-cold</c>).</summary>
/// <remarks><paramref name="conversion"/>: the optional conversion-only graph (conversion.onnx) for counterfactual passes;
/// without it they run the full graph.</remarks>
public sealed class BackboneRecommender(OnnxBackbone backbone, BackboneVocabulary vocab, ScoringModelRef reference, int batchSize,
    OnnxBackbone? conversion = null) : IRecommender, IDisposable
{
    public const string Kind = "backbone-onnx";

    public ScoringModelRef Model { get; } = reference;

    public void Dispose()
    {
        backbone.Dispose();
        conversion?.Dispose();
    }

    public ExecutionProviderInfo Provider => backbone.Provider;

    public string Runtime => Provider.FallbackReason is null
        ? $"onnxruntime {Provider.Used}"
        : $"onnxruntime {Provider.Used} ({Provider.Requested} unavailable: {Provider.FallbackReason})";

    public IReadOnlyList<UserRecommendations> Recommend(IReadOnlyList<UserTrajectory> users, int topK)
    {
        ArgumentNullException.ThrowIfNull(users);
        ArgumentOutOfRangeException.ThrowIfLessThan(topK, 1);
        var result = new List<UserRecommendations>(users.Count);
        for (var start = 0; start < users.Count; start += batchSize)
        {
            var count = Math.Min(batchSize, users.Count - start);
            result.AddRange(ScoreBatch(users, start, count, topK).Recommendations);
        }
        return result;
    }

    public BackboneVocabulary Vocabulary => vocab;

    public int MaxLength => backbone.MaxLength;

    /// <summary>The session counterfactual passes run on: the conversion-only graph when loaded, else the full graph.</summary>
    internal OnnxBackbone ConversionSession => conversion ?? backbone;

    /// <summary>Whether the conversion-only graph is loaded (recorded with the world model's name).</summary>
    public bool HasConversionGraph => conversion is not null;

    /// <summary>Writes row <paramref name="row"/> of the [B, L] item/action inputs: the user's known steps right-aligned,
    /// then, when <paramref name="appendToken"/> is given, a view of that token as the newest step (the counterfactual
    /// do(show x)). Returns whether any step was known (false: a cold user).</summary>
    internal bool Encode(UserTrajectory user, int? appendToken, long[] items, long[] actions, int row)
    {
        var length = backbone.MaxLength;
        var position = length - 1;
        if (appendToken is { } x)
        {
            items[row * length + position] = x;
            actions[row * length + position] = (long)EventType.View + 1;
            position--;
        }
        var known = false;
        // The chronologically next step written (for collapsing a run of one (item, action) into one step, as in training).
        var (nextToken, nextAction) = appendToken is { } appended ? (appended, (long)EventType.View + 1) : (0, 0L);
        for (var i = user.Steps.Count - 1; i >= 0 && position >= 0; i--)
        {
            var step = user.Steps[i];
            if (!vocab.Tokens.TryGetValue(step.Item, out var token))
            {
                continue;
            }
            var action = (long)step.Type + 1;
            if (vocab.CollapseRepeats && token == nextToken && action == nextAction)
            {
                known = true;
                continue;
            }
            items[row * length + position] = token;
            actions[row * length + position] = action;
            (nextToken, nextAction) = (token, action);
            position--;
            known = true;
        }
        return known;
    }

    /// <summary>Top-K plus the conversion head's P(next action converts) for each user.</summary>
    public (IReadOnlyList<UserRecommendations> Recommendations, float[] Conversion) ScoreBatch(IReadOnlyList<UserTrajectory> users, int start, int count, int topK)
    {
        ArgumentNullException.ThrowIfNull(users);
        var length = backbone.MaxLength;
        var items = new long[count * length];
        var actions = new long[count * length];
        var excludes = new List<int>[count];
        var cold = new bool[count];
        var width = 1;
        for (var b = 0; b < count; b++)
        {
            var user = users[start + b];
            cold[b] = !Encode(user, null, items, actions, b);
            var exclude = new List<int>();
            foreach (var bought in user.Purchased)
            {
                if (vocab.Tokens.TryGetValue(bought, out var token))
                {
                    exclude.Add(token);
                }
            }
            excludes[b] = exclude;
            width = Math.Max(width, exclude.Count);
        }
        var excludeTensor = new long[count * width];
        for (var b = 0; b < count; b++)
        {
            for (var j = 0; j < excludes[b].Count; j++)
            {
                excludeTensor[b * width + j] = excludes[b][j];
            }
        }
        // Never ask for more items than can be returned once the largest exclusion list is masked.
        var k = Math.Max(1, Math.Min(topK, vocab.NumItems - width));
        var (top, scores, conversion) = backbone.Run(items, actions, excludeTensor, count, width, k);
        var recs = new UserRecommendations[count];
        for (var b = 0; b < count; b++)
        {
            var list = new List<RecommendedItem>(k);
            for (var j = 0; j < k; j++)
            {
                var token = (int)top[b * k + j];
                if (token < 1 || token > vocab.NumItems || float.IsNegativeInfinity(scores[b * k + j]))
                {
                    continue; // padding or a masked item: never recommended
                }
                list.Add(new RecommendedItem(vocab.ItemIds[token - 1], vocab.CategoryOf(token), Math.Round(scores[b * k + j], 6), cold[b] ? "backbone-cold" : "backbone"));
            }
            recs[b] = new UserRecommendations(users[start + b].UserId, list);
        }
        return (recs, conversion);
    }
}
