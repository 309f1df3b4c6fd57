using System.Text.Json.Serialization;
using RoleGen.Core.Events;

namespace RoleGen.Training.Model;

/// <summary>Sizes of the backbone (a SASRec-style causal transformer). Item tokens are 1..NumItems, 0 is padding.</summary>
public sealed record BackboneOptions
{
    /// <summary>Hidden size d (embedding width).</summary>
    public int Dim { get; init; } = 64;

    /// <summary>Transformer blocks. With the repeat head and category embeddings, one block was at least as good as two on
    /// validation on both logs (Beauty R@10/N@10 0.0908/0.0550 vs 0.0906/0.0544; Taobao head 0.1794/0.0967 vs 0.1781/0.0948)
    /// at about two thirds of the training time (ONNX-CONTRACT.md).</summary>
    public int Layers { get; init; } = 1;

    public int Heads { get; init; } = 2;

    /// <summary>Maximum sequence length L: the window of most recent events the model reads (and the ONNX input width).</summary>
    public int MaxLength { get; init; } = 50;

    public double Dropout { get; init; } = 0.2;

    /// <summary>Feed-forward width; 0 means <see cref="Dim"/>, SASRec's point-wise feed-forward (4 × d scores ~35% slower
    /// at serving time; see README for the measurements).</summary>
    public int FeedForwardDim { get; init; }

    /// <summary>The repeat (copy) head: every item of the input window gets a bonus added to its next-item score,
    /// <c>g·h_t + b + ρ[t - j] + α[action_j]</c> summed over its occurrences j (gate from the hidden state, learned recency and
    /// action biases). On browsing logs most bought items were seen before; on purchase-only logs the head learns to stay small.</summary>
    public bool RepeatHead { get; init; } = true;

    /// <summary>Category embeddings: an item's vector (input and tied output) is its own embedding plus its category's,
    /// so rare items share what their category learned. Needs the items' categories (unknown = none); exported folded into
    /// the item table, so the ONNX graph is unchanged.</summary>
    public bool CategoryEmbeddings { get; init; } = true;

    /// <summary>Standard deviation of the initial item, action and position embeddings; 0 = 1/√d (with the √d input scale,
    /// unit-variance inputs). RecTools' SASRec starts them Xavier-normal (≈ 0.013 for Beauty's table): a rare item then starts
    /// near zero instead of at a random unit vector that it is scored with (the output layer is tied).</summary>
    public double EmbeddingInitStd { get; init; }

    [JsonIgnore]
    public int EffectiveFeedForwardDim => FeedForwardDim > 0 ? FeedForwardDim : Dim;

    public void Validate()
    {
        if (Dim <= 0 || Layers <= 0 || Heads <= 0 || MaxLength <= 1)
        {
            throw new ArgumentException("Dim, Layers and Heads must be positive and MaxLength at least 2.");
        }
        if (Dim % Heads != 0)
        {
            throw new ArgumentException($"Dim ({Dim}) must be a multiple of Heads ({Heads}).");
        }
        if (EmbeddingInitStd < 0 || double.IsNaN(EmbeddingInitStd))
        {
            throw new ArgumentException("EmbeddingInitStd must be ≥ 0 (0 = 1/√d).");
        }
        if (Dropout is < 0 or >= 1)
        {
            throw new ArgumentException("Dropout must be in [0, 1).");
        }
    }
}

/// <summary>Action tokens fed to the action-type embedding: 0 = padding, then <see cref="EventType"/> + 1.</summary>
public static class ActionTokens
{
    public const int Pad = 0;
    public const int View = 1;
    public const int Fav = 2;
    public const int Cart = 3;
    public const int Purchase = 4;

    /// <summary>Size of the action vocabulary including padding.</summary>
    public const int Count = 5;

    public static int FromEventType(EventType type) => (int)type + 1;

    public static EventType ToEventType(int token) => token is >= View and <= Purchase
        ? (EventType)(token - 1)
        : throw new ArgumentOutOfRangeException(nameof(token), token, "action tokens are 1..4");

    /// <summary>True for cart and purchase: the conversion head's positive class.</summary>
    public static bool IsConversion(int token) => token is Cart or Purchase;

    /// <summary>Names by token, as written to vocab.json.</summary>
    public static IReadOnlyDictionary<string, int> Names { get; } = new Dictionary<string, int>
    {
        ["pad"] = Pad,
        ["view"] = View,
        ["fav"] = Fav,
        ["cart"] = Cart,
        ["purchase"] = Purchase,
    };
}
