using RoleGen.Training.Model;

namespace RoleGen.Evaluation;

/// <summary>
/// Floating-point operations of one call of the exported scoring graph (BackboneOnnxExporter), counted analytically from
/// its shapes; a multiply-add is 2 FLOPs. B = batch, L = window, d = width, H = heads, f = feed-forward width, V = items,
/// N = blocks. Every block but the last runs over all L positions; the last one computes keys and values over the window
/// and everything else for the last position only (P = 1 below):
/// <list type="bullet">
/// <item>embeddings: item·√d + action + position = 3·B·L·d</item>
/// <item>layer norms (≈ 8 per element: mean, variance, normalise, scale, shift): 8·B·L·d per full-window norm,
/// 8·B·P·d otherwise (the last block's attention norm runs over the window; its FFN norm and the final norm over P)</item>
/// <item>projections: Q and output 2·(2·B·P·d² + B·P·d), K and V 2·(2·B·L·d² + B·L·d) (weights + bias)</item>
/// <item>attention: QKᵀ and attention·V 2·(2·B·P·L·d); scale, mask and softmax ≈ 7·B·H·P·L</item>
/// <item>feed-forward: 2·B·P·d·f·2 + B·P·(f + d) biases + B·P·f ReLU; residuals 2·B·P·d</item>
/// <item>output layer over all items (tied embedding): 2·B·d·V</item>
/// <item>heads: conversion (2·B·d + 2·B), repeat gate (2·B·d + 2·B·L with the window bonus)</item>
/// </list>
/// TopK, gathers, comparisons and the candidate re-rank (O(B·(k + E + L)·L)) are not floating-point arithmetic and are
/// left out. At 20k items, d = 64, L = 50, 1 block, f = d, B = 64 the output layer is 74% of the 222.0 MFLOP.
/// </summary>
public sealed record ScoringFlops(double Embeddings, double Norms, double Projections, double Attention, double FeedForward,
    double OutputLayer, double Heads)
{
    public double Total => Embeddings + Norms + Projections + Attention + FeedForward + OutputLayer + Heads;

    /// <summary>FLOPs of one call with <paramref name="batch"/> users.</summary>
    public static ScoringFlops Count(BackboneOptions options, int numItems, int batch)
    {
        ArgumentNullException.ThrowIfNull(options);
        double b = batch, l = options.MaxLength, d = options.Dim, h = options.Heads, f = options.EffectiveFeedForwardDim, v = numItems;
        var n = options.Layers;
        double embeddings = 3 * b * l * d, norms = 0, projections = 0, attention = 0, feedForward = 0;
        for (var layer = 0; layer < n; layer++)
        {
            var p = layer == n - 1 ? 1 : l; // positions whose queries (and everything after attention) are computed
            norms += 8 * b * l * d + 8 * b * p * d; // attention norm over the window, FFN norm over P
            projections += 2 * (2 * b * p * d * d + b * p * d) + 2 * (2 * b * l * d * d + b * l * d);
            attention += 2 * (2 * b * p * l * d) + 7 * b * h * p * l + b * p * d; // + the attention residual
            feedForward += 2 * b * p * d * f * 2 + b * p * (f + d) + b * p * f + b * p * d; // + the FFN residual
        }
        norms += 8 * b * d; // final norm of the last position
        var heads = 2 * b * d + 2 * b + (options.RepeatHead ? 2 * b * d + 2 * b * l : 0);
        return new ScoringFlops(embeddings, norms, projections, attention, feedForward, 2 * b * d * v, heads);
    }
}
