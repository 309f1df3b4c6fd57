using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace RoleGen.Training.Model;

/// <summary>
/// A SASRec-style causal transformer over one user's behaviour sequence.
/// Input at position t: item token (1..V, 0 = pad), action token (1..4, 0 = pad), learned position.
/// Sequences are right-aligned: the most recent event is the last column. Positions count from the right end of the
/// <see cref="BackboneOptions.MaxLength"/> window, so a batch trimmed to its longest sequence (length l) uses position
/// ids L-l..L-1 and gives exactly the result of the full padded window (pad keys are masked out of attention).
/// Pre-LN blocks: x += Attn(LN(x)); x += FFN(LN(x)); then a final LN.
/// Heads: next-item scores = h · E_item (tied with the input item embedding) plus, with the repeat head, a bonus for the
/// items of the window (<see cref="RepeatBonus"/>), and a conversion logit
/// (P(next action is cart/purchase)) = w · h + b.
/// Every operation here has a one-to-one counterpart in <see cref="Onnx.BackboneOnnxExporter"/>.
/// </summary>
public sealed class SequenceBackbone : nn.Module<Tensor, Tensor, Tensor>
{
    /// <summary>Additive attention mask value for forbidden keys (finite, so fully-masked rows cannot produce NaN).</summary>
    public const float MaskValue = -1e9f;

    /// <summary>-inf as one process-lifetime Scalar. A Scalar made on the fly by the implicit float conversion owns a native
    /// handle that its finalizer frees; nothing keeps it alive during the native call, so a GC at the wrong moment hands
    /// libtorch a freed Scalar ("Expected false to be true ... toFloat", seen once in ~10⁵ training steps). Every -inf
    /// fill uses this one.</summary>
    internal static readonly Scalar MinusInfinity = float.NegativeInfinity.ToScalar();

    /// <summary>LayerNorm epsilon (the ONNX LayerNormalization nodes use the same).</summary>
    public const double LayerNormEps = 1e-5;

    private readonly Embedding item_emb;
    private readonly Embedding action_emb;
    private readonly Embedding pos_emb;
    private readonly Dropout emb_dropout;
    private readonly ModuleList<TransformerBlock> blocks;
    private readonly LayerNorm final_norm;
    private readonly Linear conversion_head;
    private readonly Linear? repeat_gate;
    private readonly Embedding? repeat_recency;
    private readonly Embedding? repeat_action;
    private readonly Embedding? category_emb;
    private readonly Tensor? item_category;

    /// <param name="itemCategories">Optional: category index of each token (length numItems + 1; 0 = pad/unknown, no
    /// category vector). Used when <see cref="BackboneOptions.CategoryEmbeddings"/> is on and some item has a category.</param>
    public SequenceBackbone(int numItems, BackboneOptions options, IReadOnlyList<int>? itemCategories = null) : base(nameof(SequenceBackbone))
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (numItems < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(numItems), numItems, "at least one item");
        }
        NumItems = numItems;
        Options = options;
        var d = options.Dim;
        item_emb = nn.Embedding(numItems + 1, d, padding_idx: 0);
        action_emb = nn.Embedding(ActionTokens.Count, d, padding_idx: 0);
        pos_emb = nn.Embedding(options.MaxLength, d);
        emb_dropout = nn.Dropout(options.Dropout);
        blocks = nn.ModuleList(Enumerable.Range(0, options.Layers)
            .Select(i => new TransformerBlock($"block{i}", d, options.Heads, options.EffectiveFeedForwardDim, options.Dropout))
            .ToArray());
        final_norm = nn.LayerNorm(d, LayerNormEps);
        conversion_head = nn.Linear(d, 1);
        if (options.RepeatHead)
        {
            // Zero-initialised below; keep the generator where it was so the other weights start as without the head.
            using var rngState = torch.random.get_rng_state();
            repeat_gate = nn.Linear(d, 1);
            repeat_recency = nn.Embedding(options.MaxLength, 1);
            repeat_action = nn.Embedding(ActionTokens.Count, 1);
            torch.random.set_rng_state(rngState);
        }
        if (options.CategoryEmbeddings && itemCategories is not null && itemCategories.Any(c => c > 0))
        {
            if (itemCategories.Count != numItems + 1 || itemCategories[0] != 0 || itemCategories.Any(c => c < 0))
            {
                throw new ArgumentException("itemCategories needs numItems + 1 non-negative entries with 0 for the pad token", nameof(itemCategories));
            }
            using var rngState = torch.random.get_rng_state();
            category_emb = nn.Embedding(itemCategories.Max() + 1, d, padding_idx: 0);
            torch.random.set_rng_state(rngState);
            item_category = torch.tensor(itemCategories.Select(c => (long)c).ToArray(), ScalarType.Int64);
        }
        RegisterComponents();
        Initialize();
    }

    /// <summary>Whether item vectors include a category vector.</summary>
    public bool HasCategoryEmbeddings => category_emb is not null;

    public int NumItems { get; }

    public BackboneOptions Options { get; }

    /// <summary>The item table [V+1, d] the model reads and scores with: the item embedding plus, with category embeddings,
    /// each item's category vector (row 0 = pad).</summary>
    internal Tensor ItemEmbedding => category_emb is null
        ? item_emb.weight!
        : item_emb.weight! + category_emb.weight!.index_select(0, item_category!);

    internal Tensor ActionEmbedding => action_emb.weight!;

    internal Tensor PositionEmbedding => pos_emb.weight!;

    internal IReadOnlyList<TransformerBlock> Blocks => blocks.ToList();

    internal LayerNorm FinalNorm => final_norm;

    internal Linear ConversionHead => conversion_head;

    internal Linear? RepeatGate => repeat_gate;

    /// <summary>ρ: the repeat bonus by recency (0 = the newest event), [L].</summary>
    internal Tensor? RepeatRecency => repeat_recency?.weight!.squeeze(1);

    /// <summary>α: the repeat bonus by the action of the earlier event, [actions].</summary>
    internal Tensor? RepeatAction => repeat_action?.weight!.squeeze(1);

    internal float EmbeddingScale => MathF.Sqrt(Options.Dim);

    private void Initialize()
    {
        using var noGrad = torch.no_grad();
        var std = Options.EmbeddingInitStd > 0 ? Options.EmbeddingInitStd : 1.0 / Math.Sqrt(Options.Dim);
        nn.init.normal_(item_emb.weight!, 0, std);
        nn.init.normal_(action_emb.weight!, 0, std);
        nn.init.normal_(pos_emb.weight!, 0, std);
        item_emb.weight![0].zero_();
        action_emb.weight![0].zero_();
        if (category_emb is not null)
        {
            nn.init.zeros_(category_emb.weight!);
        }
        if (repeat_gate is not null)
        {
            nn.init.zeros_(repeat_gate.weight!);
            repeat_gate.bias!.zero_();
            nn.init.zeros_(repeat_recency!.weight!);
            nn.init.zeros_(repeat_action!.weight!);
        }
        foreach (var block in blocks)
        {
            block.Initialize();
        }
    }

    /// <summary>Hidden states [B, l, d] for right-aligned <paramref name="items"/>/<paramref name="actions"/> [B, l] (int64, l ≤ L).</summary>
    public override Tensor forward(Tensor items, Tensor actions)
    {
        using var scope = torch.NewDisposeScope();
        var l = items.shape[1];
        var maxLength = Options.MaxLength;
        if (l > maxLength)
        {
            throw new ArgumentException($"sequence length {l} exceeds MaxLength {maxLength}");
        }
        var positions = torch.arange(maxLength - l, maxLength, dtype: ScalarType.Int64, device: items.device);
        var itemVectors = category_emb is null
            ? item_emb.forward(items)
            : item_emb.forward(items) + category_emb.forward(item_category!.index_select(0, items.flatten()).view(items.shape));
        var x = itemVectors * EmbeddingScale + action_emb.forward(actions) + pos_emb.forward(positions);
        x = emb_dropout.forward(x);
        var mask = AttentionMask(items);
        foreach (var block in blocks)
        {
            x = block.forward(x, mask);
        }
        return final_norm.forward(x).MoveToOuterDisposeScope();
    }

    /// <summary>Additive mask [B, 1, l, l]: 0 where query i may attend key j (j ≤ i and key j is not padding, or j = i),
    /// <see cref="MaskValue"/> elsewhere. The diagonal is always allowed so that pad rows stay finite.</summary>
    public static Tensor AttentionMask(Tensor items)
    {
        using var scope = torch.NewDisposeScope();
        var l = items.shape[1];
        var causal = torch.ones(l, l, dtype: ScalarType.Bool, device: items.device).tril();
        var eye = torch.eye(l, dtype: ScalarType.Bool, device: items.device);
        var keyValid = items.ne(0L).unsqueeze(1).unsqueeze(2); // [B,1,1,l]
        var allowed = causal.logical_and(keyValid.logical_or(eye)); // [B,1,l,l]
        var zero = torch.tensor(0f, device: items.device);
        var neg = torch.tensor(MaskValue, device: items.device);
        return torch.where(allowed, zero, neg).MoveToOuterDisposeScope();
    }

    /// <summary>The repeat head's bonuses [B, q, l] from query positions t to key positions j of the window
    /// (gate(h_t) + ρ[t - j] + α[action_j] where j ≤ t and key j is not padding, else 0) and the key item tokens [B, q, l]
    /// they add to (0 where masked). <paramref name="hidden"/> [B, q, d] are the hidden states of the last q positions
    /// (q = l for training, 1 for scoring). Null without a repeat head.</summary>
    public (Tensor Bonus, Tensor Keys)? RepeatBonus(Tensor hidden, Tensor items, Tensor actions)
    {
        if (repeat_gate is null)
        {
            return null;
        }
        using var scope = torch.NewDisposeScope();
        var b = items.shape[0];
        var l = items.shape[1];
        var q = hidden.shape[1];
        var queryPos = torch.arange(l - q, l, dtype: ScalarType.Int64, device: items.device).unsqueeze(1); // [q,1]
        var keyPos = torch.arange(0, l, dtype: ScalarType.Int64, device: items.device).unsqueeze(0); // [1,l]
        var recency = queryPos - keyPos; // [q,l]
        var allowed = recency.ge(0L).unsqueeze(0).logical_and(items.ne(0L).unsqueeze(1)); // [B,q,l]
        var rho = RepeatRecency!.index_select(0, recency.clamp_min(0L).flatten()).view(1, q, l);
        var alpha = RepeatAction!.index_select(0, actions.flatten()).view(b, 1, l);
        var gate = repeat_gate.forward(hidden); // [B,q,1]
        var bonus = torch.where(allowed, gate + rho + alpha, torch.tensor(0f, device: items.device));
        var keys = torch.where(allowed, items.unsqueeze(1).expand(b, q, l), torch.tensor(0L, device: items.device));
        return (bonus.MoveToOuterDisposeScope(), keys.MoveToOuterDisposeScope());
    }

    /// <summary>Next-item scores of every token (column 0 = pad) at the last position, [B, V+1]: h · E_itemᵀ plus the
    /// repeat head's bonuses. <paramref name="items"/>/<paramref name="actions"/> [B, l] right-aligned.</summary>
    public Tensor LastItemScores(Tensor items, Tensor actions)
    {
        using var scope = torch.NewDisposeScope();
        return LastItemScores(forward(items, actions), items, actions).MoveToOuterDisposeScope();
    }

    /// <summary><see cref="LastItemScores(Tensor, Tensor)"/> from already computed hidden states [B, l, d].</summary>
    public Tensor LastItemScores(Tensor hidden, Tensor items, Tensor actions)
    {
        using var scope = torch.NewDisposeScope();
        var last = hidden.narrow(1, hidden.shape[1] - 1, 1); // [B,1,d]
        var logits = ItemLogits(last.squeeze(1));
        if (RepeatBonus(last, items, actions) is (var bonus, var keys))
        {
            logits = logits.scatter_add(1, keys.squeeze(1), bonus.squeeze(1));
        }
        return logits.MoveToOuterDisposeScope();
    }

    /// <summary>Scores of every token (column 0 = pad) for hidden states [..., d]: h · E_itemᵀ.</summary>
    public Tensor ItemLogits(Tensor hidden)
    {
        using var scope = torch.NewDisposeScope();
        return hidden.matmul(ItemEmbedding.t()).MoveToOuterDisposeScope();
    }

    /// <summary>Scores of real items only (column j = token j+1).</summary>
    public Tensor RealItemLogits(Tensor hidden)
    {
        using var scope = torch.NewDisposeScope();
        return hidden.matmul(ItemEmbedding.narrow(0, 1, NumItems).t()).MoveToOuterDisposeScope();
    }

    /// <summary>Conversion logits [...] for hidden states [..., d].</summary>
    public Tensor ConversionLogits(Tensor hidden) => conversion_head.forward(hidden).squeeze(-1);

    /// <summary>The ONNX graph's computation in TorchSharp (eval mode, no grad): the last position's scores with
    /// <paramref name="exclude"/> tokens and the pad token set to -inf, the pad column dropped, top-min(k, V) item tokens
    /// with their scores, and the conversion probability.
    /// <paramref name="items"/>, <paramref name="actions"/> [B, L]; <paramref name="exclude"/> [B, E] (0 = pad).</summary>
    public (Tensor TopItems, Tensor TopScores, Tensor Conversion) Score(Tensor items, Tensor actions, Tensor exclude, long k)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var hidden = forward(items, actions);
        var last = hidden.select(1, -1); // [B, d]
        var logits = MaskedLogits(LastItemScores(hidden, items, actions), exclude).narrow(1, 1, NumItems); // column j = token j + 1
        var (values, indices) = logits.topk((int)Math.Min(k, NumItems), dim: 1, largest: true, sorted: true);
        var tokens = indices + 1L;
        var conversion = ConversionLogits(last).sigmoid();
        return (tokens.MoveToOuterDisposeScope(), values.MoveToOuterDisposeScope(), conversion.MoveToOuterDisposeScope());
    }

    /// <summary>Sets column 0 (pad) and every token in <paramref name="exclude"/> [B, E] to -inf.</summary>
    public static Tensor MaskedLogits(Tensor logits, Tensor exclude)
    {
        using var scope = torch.NewDisposeScope();
        var masked = logits.clone();
        masked.index_fill_(1, torch.tensor(new long[] { 0 }, device: logits.device), MinusInfinity);
        if (exclude.shape[1] > 0)
        {
            masked.scatter_(1, exclude, torch.full(exclude.shape, MinusInfinity, dtype: logits.dtype, device: logits.device));
        }
        return masked.MoveToOuterDisposeScope();
    }
}

/// <summary>One pre-LN transformer block with causal multi-head self-attention and a ReLU feed-forward.</summary>
public sealed class TransformerBlock : nn.Module<Tensor, Tensor, Tensor>
{
    private readonly LayerNorm attn_norm;
    private readonly Linear q_proj;
    private readonly Linear k_proj;
    private readonly Linear v_proj;
    private readonly Linear out_proj;
    private readonly Dropout attn_dropout;
    private readonly Dropout resid_dropout;
    private readonly LayerNorm ffn_norm;
    private readonly Linear ffn_in;
    private readonly Linear ffn_out;
    private readonly Dropout ffn_dropout;

    public TransformerBlock(string name, int dim, int heads, int ffnDim, double dropout) : base(name)
    {
        Dim = dim;
        Heads = heads;
        attn_norm = nn.LayerNorm(dim, SequenceBackbone.LayerNormEps);
        q_proj = nn.Linear(dim, dim);
        k_proj = nn.Linear(dim, dim);
        v_proj = nn.Linear(dim, dim);
        out_proj = nn.Linear(dim, dim);
        attn_dropout = nn.Dropout(dropout);
        resid_dropout = nn.Dropout(dropout);
        ffn_norm = nn.LayerNorm(dim, SequenceBackbone.LayerNormEps);
        ffn_in = nn.Linear(dim, ffnDim);
        ffn_out = nn.Linear(ffnDim, dim);
        ffn_dropout = nn.Dropout(dropout);
        RegisterComponents();
    }

    public int Dim { get; }

    public int Heads { get; }

    internal int HeadDim => Dim / Heads;

    internal LayerNorm AttnNorm => attn_norm;

    internal Linear Q => q_proj;

    internal Linear K => k_proj;

    internal Linear V => v_proj;

    internal Linear Out => out_proj;

    internal LayerNorm FfnNorm => ffn_norm;

    internal Linear FfnIn => ffn_in;

    internal Linear FfnOut => ffn_out;

    internal void Initialize()
    {
        using var noGrad = torch.no_grad();
        foreach (var linear in new[] { q_proj, k_proj, v_proj, out_proj, ffn_in, ffn_out })
        {
            nn.init.xavier_uniform_(linear.weight!);
            linear.bias!.zero_();
        }
    }

    /// <summary>x [B, l, d], mask [B, 1, l, l] (additive).</summary>
    public override Tensor forward(Tensor x, Tensor mask)
    {
        using var scope = torch.NewDisposeScope();
        var b = x.shape[0];
        var l = x.shape[1];
        var h = attn_norm.forward(x);
        var q = q_proj.forward(h).view(b, l, Heads, HeadDim).transpose(1, 2); // [B,H,l,dh]
        var k = k_proj.forward(h).view(b, l, Heads, HeadDim).transpose(1, 2);
        var v = v_proj.forward(h).view(b, l, Heads, HeadDim).transpose(1, 2);
        var scores = q.matmul(k.transpose(2, 3)) * (float)(1.0 / Math.Sqrt(HeadDim)) + mask;
        var attn = attn_dropout.forward(scores.softmax(-1));
        var context = attn.matmul(v).transpose(1, 2).reshape(b, l, Dim);
        x = x + resid_dropout.forward(out_proj.forward(context));
        var f = ffn_out.forward(ffn_dropout.forward(nn.functional.relu(ffn_in.forward(ffn_norm.forward(x)))));
        x = x + ffn_dropout.forward(f);
        return x.MoveToOuterDisposeScope();
    }
}
