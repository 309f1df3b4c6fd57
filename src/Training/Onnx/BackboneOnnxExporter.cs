using System.Globalization;
using Google.Protobuf;
using RoleGen.Training.Model;
using RoleGen.Training.Onnx.Proto;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using DataType = RoleGen.Training.Onnx.Proto.TensorProto.Types.DataType;

namespace RoleGen.Training.Onnx;

/// <summary>How the exported graph turns the last hidden state into the top-K items (both give the same scores).</summary>
public enum ScoringGraph
{
    /// <summary>The default: the repeat bonus is added to the [B, V] scores (ScatterElements, reduction add), TopK picks
    /// min(k + E, V) candidates and the exclusion is applied to those only (no exclusion pass, pad column or slice over
    /// [B, V + 1]). Measured 1.2–2.0× the reference's users/s side by side (README, `rolegen bench score`).</summary>
    Candidates,

    /// <summary>The straightforward graph: repeat bonus, exclusion and pad mask as passes over [B, V + 1], then TopK. Kept
    /// for `rolegen bench score`, which times both, and for the equivalence test.</summary>
    Reference,
}

/// <summary>
/// Writes a trained <see cref="SequenceBackbone"/> as an ONNX model (opset 17, IR 8), built node by node from C#
/// with every weight as an initializer. The graph is the contract in ONNX-CONTRACT.md:
/// inputs items/actions int64 [B, L], exclude int64 [B, E], k int64 [1];
/// outputs top_items int64 [B, K], top_scores float [B, K], conversion float [B].
/// Each node mirrors one step of <see cref="SequenceBackbone.forward"/> / <see cref="SequenceBackbone.Score"/> (eval mode).
/// </summary>
public static class BackboneOnnxExporter
{
    public const int Opset = 17;
    public const long IrVersion = 8;
    public const string GraphName = "rolegen_backbone";

    public const string ItemsInput = "items";
    public const string ActionsInput = "actions";
    public const string ExcludeInput = "exclude";
    public const string KInput = "k";
    public const string TopItemsOutput = "top_items";
    public const string TopScoresOutput = "top_scores";
    public const string ConversionOutput = "conversion";

    /// <summary>Serialises the model to <paramref name="path"/>. <paramref name="metadata"/> lands in metadata_props
    /// (alongside the contract's own keys: rolegen.format, num_items, max_length, ...).</summary>
    public static void Export(SequenceBackbone model, string path, IReadOnlyDictionary<string, string>? metadata = null)
    {
        var proto = Build(model, metadata);
        using var stream = File.Create(path);
        proto.WriteTo(stream);
    }

    public static byte[] ExportToBytes(SequenceBackbone model, IReadOnlyDictionary<string, string>? metadata = null,
        ScoringGraph graph = ScoringGraph.Candidates) =>
        Build(model, metadata, graph: graph).ToByteArray();

    /// <summary>The conversion-only graph (<c>conversion.onnx</c>): inputs <c>items</c>, <c>actions</c>; output
    /// <c>conversion</c>. The counterfactual world model asks only for P(conversion), so this graph leaves out the output
    /// layer over the whole vocabulary, the exclusion mask and TopK — the larger part of a pass at 20k+ items.</summary>
    public static byte[] ExportConversionToBytes(SequenceBackbone model, IReadOnlyDictionary<string, string>? metadata = null) =>
        Build(model, metadata, conversionOnly: true).ToByteArray();

    public static ModelProto Build(SequenceBackbone model, IReadOnlyDictionary<string, string>? metadata = null, bool conversionOnly = false,
        ScoringGraph graph = ScoringGraph.Candidates)
    {
        ArgumentNullException.ThrowIfNull(model);
        var options = model.Options;
        var d = options.Dim;
        var l = options.MaxLength;
        var v = model.NumItems;
        var g = new OnnxGraphBuilder(GraphName);

        g.Input(OnnxGraphBuilder.TensorValue(ItemsInput, DataType.Int64, "batch", (long)l));
        g.Input(OnnxGraphBuilder.TensorValue(ActionsInput, DataType.Int64, "batch", (long)l));
        if (!conversionOnly)
        {
            g.Input(OnnxGraphBuilder.TensorValue(ExcludeInput, DataType.Int64, "batch", "exclude"));
            g.Input(OnnxGraphBuilder.TensorValue(KInput, DataType.Int64, 1L));
        }

        // Weights.
        var itemEmb = g.FloatInitializer("item_emb.weight", Floats(model.ItemEmbedding), v + 1, d);
        var actionEmb = g.FloatInitializer("action_emb.weight", Floats(model.ActionEmbedding), ActionTokens.Count, d);
        var posEmb = g.FloatInitializer("pos_emb.weight", Floats(model.PositionEmbedding), l, d);

        // Constants.
        var zeroI64 = g.Int64Scalar("const_zero_i64", 0);
        var zeroF = g.FloatScalar("const_zero_f", 0f);
        var maskF = g.FloatScalar("const_mask_value", SequenceBackbone.MaskValue);
        var embScale = g.FloatScalar("const_emb_scale", model.EmbeddingScale);
        var axes12 = g.Int64Initializer("const_axes_1_2", [1, 2], 2);
        var axes1 = g.Int64Initializer("const_axes_1", [1], 1);
        var causal = new bool[l * l];
        var eye = new bool[l * l];
        for (var i = 0; i < l; i++)
        {
            for (var j = 0; j <= i; j++)
            {
                causal[i * l + j] = true;
            }
            eye[i * l + i] = true;
        }
        var causalMask = g.BoolInitializer("const_causal", causal, l, l);
        var eyeMask = g.BoolInitializer("const_eye", eye, l, l);

        // Embeddings: item * sqrt(d) + action + position (positions 0..L-1: the window is full width).
        var itemX = g.Node("Mul", [g.Node("Gather", [itemEmb, ItemsInput]), embScale]);
        var x = g.Node("Add", [g.Node("Add", [itemX, g.Node("Gather", [actionEmb, ActionsInput])]), posEmb]);

        // Attention mask [B,1,L,L]: causal AND (key not pad OR diagonal) → 0 / MaskValue.
        var keyValid = g.Node("Not", [g.Node("Equal", [ItemsInput, zeroI64])]);
        var keyValid4 = g.Node("Unsqueeze", [keyValid, axes12]);
        var allowed = g.Node("And", [causalMask, g.Node("Or", [keyValid4, eyeMask])]);
        var mask = g.Node("Where", [allowed, zeroF, maskF]);

        // Only the last position is scored, so the last block computes queries, attention output and the feed-forward
        // for that position alone (keys and values still cover the whole window): the same numbers, a third less work.
        var blocks = model.Blocks;
        for (var b = 0; b < blocks.Count - 1; b++)
        {
            x = Block(g, blocks[b], $"block{b}", x, mask);
        }
        x = blocks.Count > 0
            ? LastPositionBlock(g, blocks[^1], $"block{blocks.Count - 1}", x, mask, l)
            : g.Node("Slice", [x, g.Int64Initializer("const_last_start", [l - 1L], 1), g.Int64Initializer("const_last_end", [(long)l], 1), axes1]);
        var hidden = LayerNorm(g, model.FinalNorm, "final_norm", x); // [B, 1, d]

        // Last position → item scores (tied embedding) and conversion probability.
        var last = g.Node("Gather", [hidden, zeroI64], null, OnnxGraphBuilder.Int("axis", 1)); // [B, d]
        if (!conversionOnly)
        {
            if (graph == ScoringGraph.Candidates)
            {
                ItemScoresCandidates(g, model, last, d, v);
            }
            else
            {
                ItemScoresReference(g, model, last, d, v, axes1);
            }
        }

        var head = model.ConversionHead;
        var convW = g.FloatInitializer("conversion_head.weight", Floats(head.weight!), 1, d);
        var convB = g.FloatInitializer("conversion_head.bias", Floats(head.bias!), 1);
        var convLogit = g.Node("Gemm", [last, convW, convB], null, OnnxGraphBuilder.Int("transB", 1)); // [B, 1]
        g.Node("Squeeze", [g.Node("Sigmoid", [convLogit]), axes1], ConversionOutput);

        if (!conversionOnly)
        {
            g.Output(OnnxGraphBuilder.TensorValue(TopItemsOutput, DataType.Int64, "batch", "k"));
            g.Output(OnnxGraphBuilder.TensorValue(TopScoresOutput, DataType.Float, "batch", "k"));
        }
        g.Output(OnnxGraphBuilder.TensorValue(ConversionOutput, DataType.Float, "batch"));

        var proto = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "RoleGen.Training",
            ProducerVersion = typeof(BackboneOnnxExporter).Assembly.GetName().Version?.ToString() ?? "0",
            Domain = "rolegen",
            ModelVersion = 1,
            DocString = "RoleGen behavioural backbone (causal transformer, next item + conversion). See ONNX-CONTRACT.md.",
            Graph = g.Graph,
        };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        var props = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["rolegen.format"] = "rolegen-backbone-onnx/1",
            ["num_items"] = v.ToString(CultureInfo.InvariantCulture),
            ["max_length"] = l.ToString(CultureInfo.InvariantCulture),
            ["dim"] = d.ToString(CultureInfo.InvariantCulture),
            ["layers"] = options.Layers.ToString(CultureInfo.InvariantCulture),
            ["heads"] = options.Heads.ToString(CultureInfo.InvariantCulture),
            ["pad_token"] = "0",
            ["actions"] = "pad=0,view=1,fav=2,cart=3,purchase=4",
        };
        if (metadata is not null)
        {
            foreach (var (key, value) in metadata)
            {
                props[key] = value;
            }
        }
        foreach (var (key, value) in props.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            proto.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value });
        }
        return proto;
    }

    /// <summary>Item scores by <see cref="ScoringGraph.Candidates"/>: one MatMul over the real items, the repeat bonus
    /// scattered into its [B, V] output, one TopK pass picking C = min(k + E, V) candidates, the exclusion on those only.
    /// Exact: at most E candidates are excluded, so the k best non-excluded items are among them. Ties resolve to the lower
    /// candidate index (ONNX TopK), so when fewer than k items are left the excluded ones (−∞) fill the tail, each once.</summary>
    private static void ItemScoresCandidates(OnnxGraphBuilder g, SequenceBackbone model, string last, int d, int v)
    {
        var numItems = g.Int64Initializer("const_num_items", [v], 1);
        var one = g.Int64Initializer("const_one", [1], 1);
        var axes1 = g.Int64Initializer("const_cand_axes_1", [1], 1);
        var axesMinus1 = g.Int64Initializer("const_axes_minus_1", [-1], 1);
        var minusInfF = g.FloatScalar("const_minus_inf", float.NegativeInfinity);
        var zeroF = g.FloatScalar("const_cand_zero_f", 0f);
        // The output layer reads a transposed copy of the (tied) item table without the pad row: a constant [d, V] MatMul
        // operand is pre-packed by ONNX Runtime, and column j is token j + 1, so pad can never be a candidate.
        using var itemEmbT = model.ItemEmbedding.detach().narrow(0, 1, v).t().contiguous();
        var itemEmbTransposed = g.FloatInitializer("item_emb.weight_t", Floats(itemEmbT), d, v);
        var logits = g.Node("MatMul", [last, itemEmbTransposed]); // [B, V]: scores of tokens 1..V
        if (model.RepeatGate is not null)
        {
            logits = RepeatBonusScatter(g, model, last, d, logits, g.Node("Sub", [ItemsInput, one]));
        }
        var excludeWidth = g.Node("Slice", [g.Node("Shape", [ExcludeInput]), one, g.Int64Initializer("const_two", [2], 1)]); // [1] = E
        var k = g.Node("Min", [KInput, numItems]);
        var c = g.Node("Min", [g.Node("Add", [KInput, excludeWidth]), numItems]);
        var plainScores = g.Fresh("candidate_scores");
        var plainIndex = g.Fresh("candidate_index");
        g.AddNode("TopK", [logits, c], [plainScores, plainIndex],
            OnnxGraphBuilder.Int("axis", 1), OnnxGraphBuilder.Int("largest", 1), OnnxGraphBuilder.Int("sorted", 1));
        var candidateTokens = g.Node("Add", [plainIndex, one]); // [B, C]

        // Exclusion on the candidates only. One pad column is appended (token 0 matches no candidate): ONNX Runtime's
        // ReduceSum over an empty axis (E = 0) returns an empty tensor instead of zeros.
        var excludePadded = g.Node("Pad", [ExcludeInput, g.Int64Initializer("const_exclude_pads", [0, 0, 0, 1], 4)]); // [B, E + 1]
        var excludedHits = g.Node("ReduceSum", [g.Node("Cast", [g.Node("Equal", [g.Node("Unsqueeze", [candidateTokens, axesMinus1]),
            g.Node("Unsqueeze", [excludePadded, axes1])])], null, OnnxGraphBuilder.Int("to", (long)DataType.Float)), axesMinus1], null,
            OnnxGraphBuilder.Int("keepdims", 0)); // [B, C]
        var masked = g.Node("Where", [g.Node("Greater", [excludedHits, zeroF]), minusInfF, plainScores]);
        var topIndex = g.Fresh("top_index");
        g.AddNode("TopK", [masked, k], [TopScoresOutput, topIndex],
            OnnxGraphBuilder.Int("axis", 1), OnnxGraphBuilder.Int("largest", 1), OnnxGraphBuilder.Int("sorted", 1));
        g.Node("GatherElements", [candidateTokens, topIndex], TopItemsOutput, OnnxGraphBuilder.Int("axis", 1));
    }

    /// <summary>scores[column[j]] += gate(h) + ρ[L-1-j] + α[actions[j]] for every non-pad window position j (duplicates add
    /// up; ScatterElements with reduction add). <paramref name="columns"/> maps each window token to its score column.</summary>
    private static string RepeatBonusScatter(OnnxGraphBuilder g, SequenceBackbone model, string last, int d, string logits, string columns)
    {
        var gate = model.RepeatGate!;
        // Repeat head: scores[items[j]] += gate(h) + ρ[L-1-j] + α[actions[j]] for every non-pad column j (duplicates add up).
        var l = model.Options.MaxLength;
        var rho = Floats(model.RepeatRecency!);
        var rhoByColumn = new float[l];
        for (var j = 0; j < l; j++)
        {
            rhoByColumn[j] = rho[l - 1 - j];
        }
        var gateW = g.FloatInitializer("repeat_gate.weight", Floats(gate.weight!), 1, d);
        var gateB = g.FloatInitializer("repeat_gate.bias", Floats(gate.bias!), 1);
        var rhoName = g.FloatInitializer("repeat_recency.by_column", rhoByColumn, 1, l);
        var alphaName = g.FloatInitializer("repeat_action.weight", Floats(model.RepeatAction!), ActionTokens.Count);
        var gateValue = g.Node("Gemm", [last, gateW, gateB], null, OnnxGraphBuilder.Int("transB", 1)); // [B, 1]
        var bonus = g.Node("Add", [g.Node("Add", [gateValue, rhoName]), g.Node("Gather", [alphaName, ActionsInput])]); // [B, L]
        var keyValid = g.Node("Not", [g.Node("Equal", [ItemsInput, g.Int64Scalar("const_repeat_zero_i64", 0)])]);
        var repeatMasked = g.Node("Where", [keyValid, bonus, g.FloatScalar("const_repeat_zero_f", 0f)]);
        return g.Node("ScatterElements", [logits, g.Node("Where", [keyValid, columns, g.Int64Scalar("const_repeat_zero_col", 0)]), repeatMasked], null,
            OnnxGraphBuilder.Int("axis", 1), OnnxGraphBuilder.String("reduction", "add"));
    }

    /// <summary>Last hidden state → tied-embedding scores → exclusion mask → TopK (outputs top_items, top_scores): the
    /// straightforward graph (<see cref="ScoringGraph.Reference"/>), full passes over [B, V + 1] for the repeat bonus, the
    /// exclusion, the pad column and the slice.</summary>
    private static void ItemScoresReference(OnnxGraphBuilder g, SequenceBackbone model, string last, int d, int v, string axes1)
    {
        var numItems = g.Int64Initializer("const_num_items", [v], 1);
        var numItemsPlusOne = g.Int64Initializer("const_num_items_plus_one", [v + 1L], 1);
        var one = g.Int64Initializer("const_one", [1], 1);
        var padBias = new float[v + 1];
        padBias[0] = float.NegativeInfinity;
        var padBiasName = g.FloatInitializer("const_pad_bias", padBias, v + 1);
        // The output layer reads a transposed copy of the (tied) item table: a constant [d, V+1] MatMul operand is
        // pre-packed by ONNX Runtime (measured: 6.4k → 8.3k users/s at 20k items, batch 64, 2 cores, vs Gemm with transB).
        using var itemEmbT = model.ItemEmbedding.detach().t().contiguous();
        var itemEmbTransposed = g.FloatInitializer("item_emb.weight_t", Floats(itemEmbT), d, v + 1);
        var logits = g.Node("MatMul", [last, itemEmbTransposed]); // [B, V+1]
        if (model.RepeatGate is not null)
        {
            logits = RepeatBonusScatter(g, model, last, d, logits, ItemsInput);
        }
        var minusInf = new TensorProto { DataType = (int)DataType.Float, RawData = ByteString.CopyFrom(BitConverter.GetBytes(float.NegativeInfinity)) };
        minusInf.Dims.Add(1);
        var updates = g.Node("ConstantOfShape", [g.Node("Shape", [ExcludeInput])], null, OnnxGraphBuilder.Tensor("value", minusInf));
        var excluded = g.Node("ScatterElements", [logits, ExcludeInput, updates], null, OnnxGraphBuilder.Int("axis", 1));
        var masked = g.Node("Add", [excluded, padBiasName]);
        // Drop the pad column before TopK (column j of the slice is token j + 1), so pad can never be returned.
        var realItems = g.Node("Slice", [masked, one, numItemsPlusOne, axes1]); // [B, V]
        var k = g.Node("Min", [KInput, numItems]);
        var topIndex = g.Fresh("top_index");
        g.AddNode("TopK", [realItems, k], [TopScoresOutput, topIndex],
            OnnxGraphBuilder.Int("axis", 1), OnnxGraphBuilder.Int("largest", 1), OnnxGraphBuilder.Int("sorted", 1));
        g.Node("Add", [topIndex, one], TopItemsOutput);
    }

    private static string Block(OnnxGraphBuilder g, TransformerBlock block, string prefix, string x, string mask)
    {
        var heads = block.Heads;
        var headDim = block.HeadDim;
        var dim = block.Dim;
        var split = g.Int64Initializer($"{prefix}.split_shape", [0, 0, heads, headDim], 4);
        var merge = g.Int64Initializer($"{prefix}.merge_shape", [0, 0, dim], 3);
        var scale = g.FloatScalar($"{prefix}.attn_scale", (float)(1.0 / Math.Sqrt(headDim)));

        var h = LayerNorm(g, block.AttnNorm, $"{prefix}.attn_norm", x);
        string Heads(Linear proj, string name, long[] perm) =>
            g.Node("Transpose", [g.Node("Reshape", [Linear(g, proj, $"{prefix}.{name}", h), split])], null, OnnxGraphBuilder.Ints("perm", perm));
        var q = Heads(block.Q, "q_proj", [0, 2, 1, 3]); // [B,H,L,dh]
        var kT = Heads(block.K, "k_proj", [0, 2, 3, 1]); // [B,H,dh,L]
        var v = Heads(block.V, "v_proj", [0, 2, 1, 3]); // [B,H,L,dh]
        var scores = g.Node("Add", [g.Node("Mul", [g.Node("MatMul", [q, kT]), scale]), mask]);
        var attention = g.Node("Softmax", [scores], null, OnnxGraphBuilder.Int("axis", -1));
        var context = g.Node("Reshape", [g.Node("Transpose", [g.Node("MatMul", [attention, v])], null, OnnxGraphBuilder.Ints("perm", 0, 2, 1, 3)), merge]);
        x = g.Node("Add", [x, Linear(g, block.Out, $"{prefix}.out_proj", context)]);

        var f = LayerNorm(g, block.FfnNorm, $"{prefix}.ffn_norm", x);
        f = g.Node("Relu", [Linear(g, block.FfnIn, $"{prefix}.ffn_in", f)]);
        f = Linear(g, block.FfnOut, $"{prefix}.ffn_out", f);
        return g.Node("Add", [x, f]);
    }

    /// <summary>A block evaluated for the last position only: returns [B, 1, d]. Keys and values use the whole window.</summary>
    private static string LastPositionBlock(OnnxGraphBuilder g, TransformerBlock block, string prefix, string x, string mask, int length)
    {
        var heads = block.Heads;
        var headDim = block.HeadDim;
        var dim = block.Dim;
        var split = g.Int64Initializer($"{prefix}.split_shape", [0, 0, heads, headDim], 4);
        var merge = g.Int64Initializer($"{prefix}.merge_shape", [0, 0, dim], 3);
        var scale = g.FloatScalar($"{prefix}.attn_scale", (float)(1.0 / Math.Sqrt(headDim)));
        var start = g.Int64Initializer($"{prefix}.last_start", [length - 1L], 1);
        var end = g.Int64Initializer($"{prefix}.last_end", [(long)length], 1);
        var axis1 = g.Int64Initializer($"{prefix}.axis_1", [1], 1);
        var axis2 = g.Int64Initializer($"{prefix}.axis_2", [2], 1);

        var h = LayerNorm(g, block.AttnNorm, $"{prefix}.attn_norm", x);
        var hLast = g.Node("Slice", [h, start, end, axis1]); // [B,1,d]
        string Heads(Linear proj, string name, string input, long[] perm) =>
            g.Node("Transpose", [g.Node("Reshape", [Linear(g, proj, $"{prefix}.{name}", input), split])], null, OnnxGraphBuilder.Ints("perm", perm));
        var q = Heads(block.Q, "q_proj", hLast, [0, 2, 1, 3]); // [B,H,1,dh]
        var kT = Heads(block.K, "k_proj", h, [0, 2, 3, 1]); // [B,H,dh,L]
        var v = Heads(block.V, "v_proj", h, [0, 2, 1, 3]); // [B,H,L,dh]
        var maskLast = g.Node("Slice", [mask, start, end, axis2]); // [B,1,1,L]
        var scores = g.Node("Add", [g.Node("Mul", [g.Node("MatMul", [q, kT]), scale]), maskLast]);
        var attention = g.Node("Softmax", [scores], null, OnnxGraphBuilder.Int("axis", -1));
        var context = g.Node("Reshape", [g.Node("Transpose", [g.Node("MatMul", [attention, v])], null, OnnxGraphBuilder.Ints("perm", 0, 2, 1, 3)), merge]);
        var xLast = g.Node("Add", [g.Node("Slice", [x, start, end, axis1]), Linear(g, block.Out, $"{prefix}.out_proj", context)]);

        var f = LayerNorm(g, block.FfnNorm, $"{prefix}.ffn_norm", xLast);
        f = g.Node("Relu", [Linear(g, block.FfnIn, $"{prefix}.ffn_in", f)]);
        f = Linear(g, block.FfnOut, $"{prefix}.ffn_out", f);
        return g.Node("Add", [xLast, f]);
    }

    private static string LayerNorm(OnnxGraphBuilder g, LayerNorm norm, string prefix, string x)
    {
        var d = norm.weight!.shape[0];
        var scale = g.FloatInitializer($"{prefix}.weight", Floats(norm.weight!), d);
        var bias = g.FloatInitializer($"{prefix}.bias", Floats(norm.bias!), d);
        return g.Node("LayerNormalization", [x, scale, bias], null,
            OnnxGraphBuilder.Int("axis", -1), OnnxGraphBuilder.Float("epsilon", (float)SequenceBackbone.LayerNormEps));
    }

    /// <summary>x · Wᵀ + b with Wᵀ stored as a [in, out] initializer (MatMul handles the [B, L, in] batch dims).</summary>
    private static string Linear(OnnxGraphBuilder g, Linear linear, string prefix, string x)
    {
        var weight = linear.weight!;
        var outFeatures = weight.shape[0];
        var inFeatures = weight.shape[1];
        using var transposed = weight.detach().t().contiguous();
        var w = g.FloatInitializer($"{prefix}.weight_t", Floats(transposed), inFeatures, outFeatures);
        var b = g.FloatInitializer($"{prefix}.bias", Floats(linear.bias!), outFeatures);
        return g.Node("Add", [g.Node("MatMul", [x, w]), b]);
    }

    private static float[] Floats(Tensor tensor)
    {
        using var cpu = tensor.detach().cpu().contiguous().to_type(ScalarType.Float32);
        return cpu.data<float>().ToArray();
    }
}
