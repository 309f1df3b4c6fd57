using System.Reflection;
using RoleGen.Training.Data;
using RoleGen.Training.Model;

[assembly: CollectionBehavior(DisableTestParallelization = true)] // torch's RNG and thread count are process-global

namespace RoleGen.Training.Tests;

internal static class TestSupport
{
    /// <summary>The NuGet package folder of TorchSharp (the unpatched original lives under it).</summary>
    public static string TorchSharpPackageDir => typeof(TestSupport).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "TorchSharpPackageDir").Value!;

    public static string OriginalLibTorchSharp => Path.Combine(TorchSharpPackageDir, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");

    public static string OutputLibTorchSharp => Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");

    public static TempDir NewTempDir() => new();

    // d=16 with a 4×d feed-forward: at this width the default (d) is too small to learn the toy world's conversion rule reliably.
    public static BackboneOptions TinyModel(int maxLength = 8) => new() { Dim = 16, Layers = 2, Heads = 2, MaxLength = maxLength, Dropout = 0.1, FeedForwardDim = 64 };

    /// <summary>A learnable toy world: user u walks items start, start+1, ... (mod <paramref name="numItems"/>); every
    /// third step is a cart, and the step after a cart is a purchase.</summary>
    public static SequenceCorpus ToyCorpus(int users = 120, int numItems = 24, int minLength = 5, int maxLength = 12, int seed = 7)
    {
        var rng = new Random(seed);
        var items = new List<int[]>();
        var actions = new List<int[]>();
        for (var u = 0; u < users; u++)
        {
            var n = rng.Next(minLength, maxLength + 1);
            var start = rng.Next(numItems);
            items.Add(Enumerable.Range(0, n).Select(i => (start + i) % numItems + 1).ToArray());
            actions.Add(Enumerable.Range(0, n).Select(i => (start + i) % 3 == 2 ? ActionTokens.Cart : (start + i) % 3 == 0 && i > 0 ? ActionTokens.Purchase : ActionTokens.View).ToArray());
        }
        var vocabulary = new ItemVocabulary(Enumerable.Range(1, numItems).Select(i => $"item{i}").ToArray(),
            Enumerable.Range(1, numItems).Select(i => $"cat{i % 4}").ToArray());
        return new SequenceCorpus(vocabulary, items, actions);
    }
}

internal sealed class TempDir : IDisposable
{
    public TempDir()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "rolegen-training-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
