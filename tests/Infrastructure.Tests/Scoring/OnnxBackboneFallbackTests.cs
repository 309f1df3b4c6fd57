using Google.Protobuf;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using RoleGen.Infrastructure.Scoring;

namespace RoleGen.Infrastructure.Tests.Scoring;

/// <summary>The CUDA path of the GPU build, on a machine without CUDA (this one, CI): the session must come up on CPU,
/// say why, and still run.</summary>
public sealed class OnnxBackboneFallbackTests
{
    [Fact]
    public void Create_CudaRequestedWithoutCudaLibraries_FallsBackToCpuWithReason()
    {
        var logger = new ListLogger();
        using var backbone = OnnxBackbone.Create(IdentityModel(), maxLength: 4, new ScoringOptions { ExecutionProvider = ExecutionProviderKind.Cuda }, logger);

        Assert.Equal("CUDA", backbone.Provider.Requested);
        Assert.Equal("CPU", backbone.Provider.Used);
        Assert.False(string.IsNullOrWhiteSpace(backbone.Provider.FallbackReason));
        Assert.Contains(logger.Messages, m => m.Contains("CUDA execution provider unavailable", StringComparison.Ordinal));
    }

    [Fact]
    public void Create_CpuRequested_UsesCpuWithoutFallback()
    {
        using var backbone = OnnxBackbone.Create(IdentityModel(), maxLength: 4, new ScoringOptions(), NullLogger.Instance);
        Assert.Equal(new ExecutionProviderInfo("CPU", "CPU", null), backbone.Provider);
    }

    [Fact]
    public void Create_NotAnOnnxModel_ThrowsOnnxRuntimeException()
    {
        Assert.ThrowsAny<Microsoft.ML.OnnxRuntime.OnnxRuntimeException>(
            () => OnnxBackbone.Create("not a model"u8.ToArray(), 4, new ScoringOptions(), NullLogger.Instance));
    }

    /// <summary>A minimal valid ONNX model (y = Identity(x), opset 17), written field by field (onnx.proto numbers).</summary>
    internal static byte[] IdentityModel()
    {
        static byte[] Message(Action<CodedOutputStream> write)
        {
            using var buffer = new MemoryStream();
            var output = new CodedOutputStream(buffer);
            write(output);
            output.Flush();
            return buffer.ToArray();
        }

        static byte[] ValueInfo(string name) => Message(o =>
        {
            o.WriteTag(1, WireFormat.WireType.LengthDelimited); o.WriteString(name);
            var dim = Message(d => { d.WriteTag(1, WireFormat.WireType.Varint); d.WriteInt64(1); });
            var shape = Message(s => { s.WriteTag(1, WireFormat.WireType.LengthDelimited); s.WriteBytes(ByteString.CopyFrom(dim)); });
            var tensor = Message(t =>
            {
                t.WriteTag(1, WireFormat.WireType.Varint); t.WriteInt32(1); // FLOAT
                t.WriteTag(2, WireFormat.WireType.LengthDelimited); t.WriteBytes(ByteString.CopyFrom(shape));
            });
            var type = Message(t => { t.WriteTag(1, WireFormat.WireType.LengthDelimited); t.WriteBytes(ByteString.CopyFrom(tensor)); });
            o.WriteTag(2, WireFormat.WireType.LengthDelimited); o.WriteBytes(ByteString.CopyFrom(type));
        });

        var node = Message(n =>
        {
            n.WriteTag(1, WireFormat.WireType.LengthDelimited); n.WriteString("x");
            n.WriteTag(2, WireFormat.WireType.LengthDelimited); n.WriteString("y");
            n.WriteTag(4, WireFormat.WireType.LengthDelimited); n.WriteString("Identity");
        });
        var graph = Message(g =>
        {
            g.WriteTag(1, WireFormat.WireType.LengthDelimited); g.WriteBytes(ByteString.CopyFrom(node));
            g.WriteTag(2, WireFormat.WireType.LengthDelimited); g.WriteString("g");
            g.WriteTag(11, WireFormat.WireType.LengthDelimited); g.WriteBytes(ByteString.CopyFrom(ValueInfo("x")));
            g.WriteTag(12, WireFormat.WireType.LengthDelimited); g.WriteBytes(ByteString.CopyFrom(ValueInfo("y")));
        });
        var opset = Message(s =>
        {
            s.WriteTag(1, WireFormat.WireType.LengthDelimited); s.WriteString(string.Empty);
            s.WriteTag(2, WireFormat.WireType.Varint); s.WriteInt64(17);
        });
        return Message(m =>
        {
            m.WriteTag(1, WireFormat.WireType.Varint); m.WriteInt64(8); // ir_version
            m.WriteTag(7, WireFormat.WireType.LengthDelimited); m.WriteBytes(ByteString.CopyFrom(graph));
            m.WriteTag(8, WireFormat.WireType.LengthDelimited); m.WriteBytes(ByteString.CopyFrom(opset));
        });
    }

    private sealed class ListLogger : ILogger
    {
        public List<string> Messages { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            => Messages.Add(formatter(state, exception));
    }
}
