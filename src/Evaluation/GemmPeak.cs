using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using RoleGen.Training.Onnx;
using DataType = RoleGen.Training.Onnx.Proto.TensorProto.Types.DataType;

namespace RoleGen.Evaluation;

/// <summary>One FP32 GEMM measurement: C[m, n] = A[m, k] · B[k, n], B a constant initializer (pre-packed, as the output layer).</summary>
public sealed record GemmRate(int M, int K, int N, bool Spinning, long Calls, double Seconds, double GflopsPerSecond);

/// <summary>The machine's FP32 GEMM rate as ONNX Runtime reaches it: a one-MatMul session per shape with the scoring
/// session's options (graph optimisations ALL, the same intra-op thread count), timed in this process.</summary>
public static class GemmPeak
{
    /// <summary>Square sizes tried for the peak; the best is reported.</summary>
    public static readonly IReadOnlyList<int> SquareSizes = [256, 512, 1024];

    /// <summary>Times A·B for about <paramref name="seconds"/> after one warm-up call; returns the best of
    /// <paramref name="repeats"/> timed windows (the best window is the one least disturbed by other processes).</summary>
    public static GemmRate Measure(int m, int k, int n, int threads, double seconds, int repeats = 3, bool spinning = true)
    {
        var rng = new Random(m * 31 + k * 7 + n);
        var b = new float[k * n];
        for (var i = 0; i < b.Length; i++)
        {
            b[i] = (float)(rng.NextDouble() - 0.5);
        }
        var a = new float[m * k];
        for (var i = 0; i < a.Length; i++)
        {
            a[i] = (float)(rng.NextDouble() - 0.5);
        }
        var g = new OnnxGraphBuilder("gemm_peak");
        g.Input(OnnxGraphBuilder.TensorValue("a", DataType.Float, (long)m, (long)k));
        var weight = g.FloatInitializer("b", b, k, n);
        g.Node("MatMul", ["a", weight], "c");
        g.Output(OnnxGraphBuilder.TensorValue("c", DataType.Float, (long)m, (long)n));
        var proto = new Training.Onnx.Proto.ModelProto { IrVersion = BackboneOnnxExporter.IrVersion, Graph = g.Graph };
        proto.OpsetImport.Add(new Training.Onnx.Proto.OperatorSetIdProto { Domain = "", Version = BackboneOnnxExporter.Opset });
        using var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        if (threads > 0)
        {
            options.IntraOpNumThreads = threads;
        }
        if (!spinning)
        {
            options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        }
        using var session = new InferenceSession(Google.Protobuf.MessageExtensions.ToByteArray(proto), options);
        using var input = OrtValue.CreateTensorValueFromMemory(a, [m, k]);
        using var runOptions = new RunOptions();
        var flops = 2.0 * m * k * n;
        using (session.Run(runOptions, ["a"], [input], ["c"]))
        {
        }
        GemmRate? best = null;
        for (var r = 0; r < Math.Max(1, repeats); r++)
        {
            var calls = 0L;
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed.TotalSeconds < seconds || calls < 2)
            {
                using var outputs = session.Run(runOptions, ["a"], [input], ["c"]);
                calls++;
            }
            var elapsed = clock.Elapsed.TotalSeconds;
            var rate = new GemmRate(m, k, n, spinning, calls, elapsed, flops * calls / elapsed / 1e9);
            if (best is null || rate.GflopsPerSecond > best.GflopsPerSecond)
            {
                best = rate;
            }
        }
        return best!;
    }

    /// <summary>The best of the square GEMMs (<see cref="SquareSizes"/>), each with intra-op spinning on and off.</summary>
    public static GemmRate Peak(int threads, double secondsPerSize, int repeats = 3) =>
        SquareSizes.SelectMany(s => new[] { true, false }.Select(spin => Measure(s, s, s, threads, secondsPerSize, repeats, spin)))
            .MaxBy(r => r.GflopsPerSecond)!;
}
