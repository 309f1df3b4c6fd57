using System.ComponentModel.DataAnnotations;

namespace RoleGen.Infrastructure.Scoring;

public enum ExecutionProviderKind
{
    Cpu,
    Cuda,
}

/// <summary>How the ONNX backbone is served (<c>RoleGen:Scoring</c>).</summary>
public sealed class ScoringOptions
{
    public const string SectionName = "RoleGen:Scoring";

    /// <summary>Cuda: use the CUDA execution provider when it loads, otherwise CPU (the reason is logged and recorded).</summary>
    public ExecutionProviderKind ExecutionProvider { get; set; } = ExecutionProviderKind.Cpu;

    [Range(0, 16)]
    public int CudaDeviceId { get; set; }

    /// <summary>Users per ONNX Runtime call.</summary>
    [Range(1, 65_536)]
    public int BatchSize { get; set; } = 64;

    /// <summary>Intra-op threads (0 = ONNX Runtime's default: one per physical core).</summary>
    [Range(0, 256)]
    public int IntraOpThreads { get; set; }

    /// <summary>Whether idle intra-op threads spin between operators (ONNX Runtime's default, true) or sleep
    /// (<c>session.intra_op.allow_spinning = 0</c>, the default here). With more runnable threads than cores (parallel
    /// shard activities, other processes) a spinning worker takes the core its own session's other thread needs: on this
    /// 2-core machine under load, 2 threads without spinning scored 2.1–2.6× the users/s (README, `bench score`).</summary>
    public bool IntraOpSpinning { get; set; }
}
