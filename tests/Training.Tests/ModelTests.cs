using RoleGen.Training.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace RoleGen.Training.Tests;

public sealed class ModelTests
{
    private static Tensor Rows(long[][] rows, int width) =>
        SequenceBatch.RightAlignedTensor(rows.Select(r => r.Select(x => (int)x).ToArray()).ToArray(), width);

    [Theory]
    [InlineData(0.0, 0.25)] // default: 1/√d with d = 16
    [InlineData(0.01, 0.01)]
    public void Embeddings_start_at_the_configured_scale(double initStd, double expected)
    {
        torch.random.manual_seed(4);
        using var model = new SequenceBackbone(2000, TestSupport.TinyModel() with { EmbeddingInitStd = initStd });
        using var noGrad = torch.no_grad();
        var table = model.ItemEmbedding;
        Assert.Equal(0f, table[0].abs().sum().item<float>()); // the pad row
        var std = table.narrow(0, 1, 2000).std().item<float>();
        Assert.InRange(std, expected * 0.95, expected * 1.05);
        Assert.Throws<ArgumentException>(() => (TestSupport.TinyModel() with { EmbeddingInitStd = -1 }).Validate());
    }

    [Fact]
    public void Trimmed_batches_equal_the_full_padded_window()
    {
        torch.random.manual_seed(1);
        using var model = new SequenceBackbone(30, TestSupport.TinyModel(maxLength: 8));
        model.eval();
        long[][] items = [[3, 4, 5], [7, 8, 9, 10, 11]];
        long[][] actions = [[1, 1, 3], [1, 2, 1, 1, 4]];
        using var noGrad = torch.no_grad();
        using var trimmed = model.forward(Rows(items, 5), Rows(actions, 5));
        using var full = model.forward(Rows(items, 8), Rows(actions, 8));
        using var a = trimmed.select(1, -1);
        using var b = full.select(1, -1);
        Assert.True(a.allclose(b, rtol: 0, atol: 1e-5), $"max |Δ| = {(a - b).abs().max().item<float>()}");
        Assert.Equal(new long[] { 2, 5, 16 }, trimmed.shape);
    }

    [Fact]
    public void Attention_is_causal_and_ignores_padding()
    {
        torch.random.manual_seed(2);
        using var model = new SequenceBackbone(30, TestSupport.TinyModel(maxLength: 6));
        model.eval();
        using var noGrad = torch.no_grad();
        using var baseline = model.forward(Rows([[0, 0, 3, 4, 5, 6]], 6), Rows([[0, 0, 1, 1, 1, 1]], 6));
        // A different future item changes nothing before it.
        using var future = model.forward(Rows([[0, 0, 3, 4, 5, 9]], 6), Rows([[0, 0, 1, 1, 1, 3]], 6));
        Assert.True(baseline.narrow(1, 0, 5).allclose(future.narrow(1, 0, 5), rtol: 0, atol: 1e-6));
        Assert.False(baseline.select(1, 5).allclose(future.select(1, 5), rtol: 0, atol: 1e-6));
        // Action tokens under padded items never reach real positions (pad keys are masked).
        using var padActions = model.forward(Rows([[0, 0, 3, 4, 5, 6]], 6), Rows([[4, 2, 1, 1, 1, 1]], 6));
        Assert.True(baseline.narrow(1, 2, 4).allclose(padActions.narrow(1, 2, 4), rtol: 0, atol: 1e-6));
        Assert.False(baseline.isnan().any().item<bool>());
    }

    [Fact]
    public void Score_masks_excluded_items_and_never_returns_the_pad_token()
    {
        torch.random.manual_seed(3);
        const int numItems = 12;
        using var model = new SequenceBackbone(numItems, TestSupport.TinyModel(maxLength: 4));
        model.eval();
        using var items = Rows([[0, 1, 2, 3]], 4);
        using var actions = Rows([[0, 1, 1, 4]], 4);
        using var exclude = torch.tensor(new long[] { 1, 2, 3, 0 }, new long[] { 1, 4 });
        var (top, scores, conversion) = model.Score(items, actions, exclude, k: 100);
        using (top)
        using (scores)
        using (conversion)
        {
            var tokens = top.data<long>().ToArray();
            var values = scores.data<float>().ToArray();
            Assert.Equal(numItems, tokens.Length); // k clamps to V
            Assert.DoesNotContain(0L, tokens);
            Assert.Equal(Enumerable.Range(1, numItems).Select(i => (long)i), tokens.Order());
            Assert.True(values.Take(numItems - 3).All(float.IsFinite));
            Assert.True(values.Skip(numItems - 3).All(float.IsNegativeInfinity));
            Assert.Equal([1L, 2, 3], tokens.Skip(numItems - 3).Order());
            var p = conversion.item<float>();
            Assert.InRange(p, 0f, 1f);
        }
    }
}
