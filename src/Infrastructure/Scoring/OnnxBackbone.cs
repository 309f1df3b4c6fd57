using Microsoft.Extensions.Logging;
using Microsoft.ML.OnnxRuntime;

namespace RoleGen.Infrastructure.Scoring;

/// <summary>Which execution provider a session runs on, and why (recorded in the run manifest per shard).</summary>
public sealed record ExecutionProviderInfo(string Requested, string Used, string? FallbackReason);

/// <summary>One <see cref="InferenceSession"/> for one backbone version (owned by the provider's cache: a singleton per
/// model version). Runs the graph described in src/Training/ONNX-CONTRACT.md with the OrtValue API: inputs <c>items</c>,
/// <c>actions</c> [B, L], <c>exclude</c> [B, E] (int64, 0 = pad), <c>k</c> [1]; outputs <c>top_items</c> (int64 [B, K]),
/// <c>top_scores</c> (float [B, K]), <c>conversion</c> (float [B]).</summary>
public sealed class OnnxBackbone : IDisposable
{
    private readonly InferenceSession _session;

    private OnnxBackbone(InferenceSession session, ExecutionProviderInfo provider, int maxLength)
    {
        _session = session;
        Provider = provider;
        MaxLength = maxLength;
    }

    public ExecutionProviderInfo Provider { get; }

    public int MaxLength { get; }

    /// <summary>Creates the session on CUDA when asked and loadable, else on CPU; never throws for a missing GPU.</summary>
    public static OnnxBackbone Create(byte[] model, int maxLength, ScoringOptions options, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        var requested = options.ExecutionProvider.ToString().ToUpperInvariant();
        string? reason = null;
        if (options.ExecutionProvider == ExecutionProviderKind.Cuda)
        {
            SessionOptions? cuda = null;
            try
            {
                // Without CUDA 13 the provider library fails to load and ORT's default logger prints
                // "[E:onnxruntime] Failed to load library ... libcublasLt.so.13" for it; the fallback below is expected and
                // logged once as a warning through ILogger, so keep ORT's own logger to fatal errors while probing.
                QuietOrtLogger();
                cuda = NewOptions(options);
                cuda.LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL;
                cuda.AppendExecutionProvider_CUDA(options.CudaDeviceId);
                var session = new InferenceSession(model, cuda);
                logger.LogInformation("Backbone session on CUDA device {Device}", options.CudaDeviceId);
                return new OnnxBackbone(session, new ExecutionProviderInfo(requested, "CUDA", null), maxLength);
            }
            catch (Exception ex) when (ex is OnnxRuntimeException or DllNotFoundException or EntryPointNotFoundException or InvalidOperationException)
            {
                reason = FirstLine(ex.Message);
                logger.LogWarning("CUDA execution provider unavailable, scoring on CPU: {Reason}", reason);
            }
            finally
            {
                cuda?.Dispose();
            }
        }
        using var cpu = NewOptions(options);
        return new OnnxBackbone(new InferenceSession(model, cpu), new ExecutionProviderInfo(requested, "CPU", reason), maxLength);
    }

    private static void QuietOrtLogger()
    {
        try
        {
            OrtEnv.Instance().EnvLogLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL;
        }
        catch (OnnxRuntimeException)
        {
            // an older native library without the setter: the messages stay, the fallback still works
        }
    }

    private static SessionOptions NewOptions(ScoringOptions options)
    {
        var so = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        if (options.IntraOpThreads > 0)
        {
            so.IntraOpNumThreads = options.IntraOpThreads;
        }
        if (!options.IntraOpSpinning)
        {
            so.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
        }
        return so;
    }

    private static string FirstLine(string message)
    {
        var line = message.Split('\n', 2)[0].Trim();
        return line.Length > 300 ? line[..300] : line;
    }

    /// <summary>Scores one batch. <paramref name="items"/>/<paramref name="actions"/> are [batch × MaxLength], right-aligned;
    /// <paramref name="exclude"/> is [batch × excludeWidth]. Returns top tokens and scores [batch × k] and P(conversion) [batch].</summary>
    public (long[] TopItems, float[] TopScores, float[] Conversion) Run(long[] items, long[] actions, long[] exclude, int batch, int excludeWidth, int k)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(actions);
        ArgumentNullException.ThrowIfNull(exclude);
        using var itemsValue = OrtValue.CreateTensorValueFromMemory(items, [batch, MaxLength]);
        using var actionsValue = OrtValue.CreateTensorValueFromMemory(actions, [batch, MaxLength]);
        using var excludeValue = OrtValue.CreateTensorValueFromMemory(exclude, [batch, excludeWidth]);
        using var kValue = OrtValue.CreateTensorValueFromMemory(new long[] { k }, [1]);
        var inputs = new Dictionary<string, OrtValue>
        {
            ["items"] = itemsValue,
            ["actions"] = actionsValue,
            ["exclude"] = excludeValue,
            ["k"] = kValue,
        };
        using var runOptions = new RunOptions();
        using var outputs = _session.Run(runOptions, inputs, ["top_items", "top_scores", "conversion"]);
        return (outputs[0].GetTensorDataAsSpan<long>().ToArray(), outputs[1].GetTensorDataAsSpan<float>().ToArray(), outputs[2].GetTensorDataAsSpan<float>().ToArray());
    }

    /// <summary>True for the conversion-only graph (inputs items and actions; output conversion).</summary>
    public bool IsConversionOnly => !_session.InputMetadata.ContainsKey("exclude");

    /// <summary>P(conversion) [batch] for right-aligned [batch × MaxLength] inputs: on the conversion-only graph directly,
    /// on the full graph with k = 1 and an empty exclusion list (ONNX Runtime still computes the item scores there).</summary>
    public float[] RunConversion(long[] items, long[] actions, int batch)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(actions);
        using var itemsValue = OrtValue.CreateTensorValueFromMemory(items, [batch, MaxLength]);
        using var actionsValue = OrtValue.CreateTensorValueFromMemory(actions, [batch, MaxLength]);
        var inputs = new Dictionary<string, OrtValue>
        {
            ["items"] = itemsValue,
            ["actions"] = actionsValue,
        };
        OrtValue? excludeValue = null, kValue = null;
        try
        {
            if (!IsConversionOnly)
            {
                inputs["exclude"] = excludeValue = OrtValue.CreateTensorValueFromMemory(new long[batch], [batch, 1]);
                inputs["k"] = kValue = OrtValue.CreateTensorValueFromMemory(new long[] { 1 }, [1]);
            }
            using var runOptions = new RunOptions();
            using var outputs = _session.Run(runOptions, inputs, ["conversion"]);
            return outputs[0].GetTensorDataAsSpan<float>().ToArray();
        }
        finally
        {
            excludeValue?.Dispose();
            kValue?.Dispose();
        }
    }

    public void Dispose() => _session.Dispose();
}
