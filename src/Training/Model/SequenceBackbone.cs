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
/// Heads: next-item scores = h · E_item (tied with the input item embedding), and a conversion logit
/// (P(next action is cart/purchase)) = w · h + b.
/// Every operation here has a one-to-one counterpart in <see cref="Onnx.BackboneOnnxExporter"/>.
/// </summary>
public sealed class SequenceBackbone : nn.Module<Tensor, Tensor, Tensor>
{
    /// <summary>Additive attention mask value for forbidden keys (finite, so fully-masked rows cannot produce NaN).</summary>
    public const float MaskValue = -1e9f;

    /// <summary>LayerNorm epsilon (the ONNX LayerNormalization nodes use the same).</summary>
    public const double LayerNormEps = 1e-5;

    private readonly Embedding item_emb;
    private readonly Embedding action_emb;
    private readonly Embedding pos_emb;
    private readonly Dropout emb_dropout;
    private readonly ModuleList<TransformerBlock> blocks;
    private readonly LayerNorm final_norm;
    private readonly Linear conversion_head;

    public SequenceBackbone(int numItems, BackboneOptions options) : base(nameof(SequenceBackbone))
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
        RegisterComponents();
        Initialize();
    }

    public int NumItems { get; }

    public BackboneOptions Options { get; }

    internal Tensor ItemEmbedding => item_emb.weight!;

    internal Tensor ActionEmbedding => action_emb.weight!;

    internal Tensor PositionEmbedding => pos_emb.weight!;

    internal IReadOnlyList<TransformerBlock> Blocks => blocks.ToList();

    internal LayerNorm FinalNorm => final_norm;

    internal Linear ConversionHead => conversion_head;

    internal float EmbeddingScale => MathF.Sqrt(Options.Dim);

    private void Initialize()
    {
        using var noGrad = torch.no_grad();
        var std = 1.0 / Math.Sqrt(Options.Dim);
        nn.init.normal_(item_emb.weight!, 0, std);
        nn.init.normal_(action_emb.weight!, 0, std);
        nn.init.normal_(pos_emb.weight!, 0, std);
        item_emb.weight![0].zero_();
        action_emb.weight![0].zero_();
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
        var x = item_emb.forward(items) * EmbeddingScale + action_emb.forward(actions) + pos_emb.forward(positions);
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

    /// <summary>Scores of every token (column 0 = pad) for hidden states [..., d]: h · E_itemᵀ.</summary>
    public Tensor ItemLogits(Tensor hidden) => hidden.matmul(item_emb.weight!.t());

    /// <summary>Scores of real items only (column j = token j+1).</summary>
    public Tensor RealItemLogits(Tensor hidden) => hidden.matmul(item_emb.weight!.narrow(0, 1, NumItems).t());

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
        var last = forward(items, actions).select(1, -1); // [B, d]
        var logits = MaskedLogits(ItemLogits(last), exclude).narrow(1, 1, NumItems); // column j = token j + 1
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
        masked.index_fill_(1, torch.tensor(new long[] { 0 }, device: logits.device), float.NegativeInfinity);
        if (exclude.shape[1] > 0)
        {
            masked.scatter_(1, exclude, torch.full(exclude.shape, float.NegativeInfinity, dtype: logits.dtype, device: logits.device));
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
