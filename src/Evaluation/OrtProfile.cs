using System.Text.Json;
using Microsoft.ML.OnnxRuntime;

namespace RoleGen.Evaluation;

/// <summary>Per-operator time of a scoring graph from ONNX Runtime's own profiler (kernel time of each node, summed by
/// operator type over the profiled calls): where a call's time goes, as a cross-check of the analytic FLOP split.</summary>
public static class OrtProfile
{
    public sealed record OpTime(string OpType, double Microseconds, double Share);

    public static IReadOnlyList<OpTime> ByOperator(byte[] model, int threads, int calls, Func<InferenceSession, IDisposable> run)
    {
        ArgumentNullException.ThrowIfNull(run);
        var prefix = Path.Combine(Path.GetTempPath(), $"rolegen-ort-profile-{Environment.ProcessId}-{Guid.NewGuid():N}");
        string file;
        using (var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, EnableProfiling = true, ProfileOutputPathPrefix = prefix })
        {
            if (threads > 0)
            {
                options.IntraOpNumThreads = threads;
            }
            using var session = new InferenceSession(model, options);
            for (var i = 0; i < calls; i++)
            {
                run(session).Dispose();
            }
            file = session.EndProfiling();
        }
        try
        {
            var totals = new Dictionary<string, double>(StringComparer.Ordinal);
            using var doc = JsonDocument.Parse(File.ReadAllBytes(file));
            foreach (var e in doc.RootElement.EnumerateArray())
            {
                if (e.TryGetProperty("cat", out var cat) && cat.GetString() == "Node"
                    && e.TryGetProperty("name", out var name) && name.GetString()!.EndsWith("_kernel_time", StringComparison.Ordinal)
                    && e.TryGetProperty("args", out var args) && args.TryGetProperty("op_name", out var op))
                {
                    var key = op.GetString()!;
                    totals[key] = totals.GetValueOrDefault(key) + e.GetProperty("dur").GetDouble();
                }
            }
            var sum = totals.Values.Sum();
            return totals.OrderByDescending(p => p.Value).Select(p => new OpTime(p.Key, p.Value / calls, sum > 0 ? p.Value / sum : 0)).ToArray();
        }
        finally
        {
            File.Delete(file);
        }
    }
}
