using Google.Protobuf;
using RoleGen.Training.Onnx.Proto;

namespace RoleGen.Training.Onnx;

/// <summary>A small helper for hand-building ONNX graphs (default domain) with weights as initializers.</summary>
public sealed class OnnxGraphBuilder
{
    private readonly GraphProto _graph;
    private readonly HashSet<string> _names = new(StringComparer.Ordinal);
    private int _counter;

    public OnnxGraphBuilder(string name)
    {
        _graph = new GraphProto { Name = name };
    }

    public GraphProto Graph => _graph;

    /// <summary>A fresh value name with the given stem.</summary>
    public string Fresh(string stem)
    {
        string name;
        do
        {
            name = $"{stem}_{_counter++}";
        }
        while (!_names.Add(name));
        return name;
    }

    /// <summary>Adds a node; returns its (first) output name. <paramref name="output"/> names the output explicitly.</summary>
    public string Node(string opType, IEnumerable<string> inputs, string? output = null, params AttributeProto[] attributes)
    {
        var outputName = output ?? Fresh(opType.ToLowerInvariant());
        _names.Add(outputName);
        AddNode(opType, inputs, [outputName], attributes);
        return outputName;
    }

    /// <summary>Adds a node with several outputs.</summary>
    public void AddNode(string opType, IEnumerable<string> inputs, IReadOnlyList<string> outputs, params AttributeProto[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = $"{opType}_{_graph.Node.Count}" };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        node.Attribute.AddRange(attributes);
        _graph.Node.Add(node);
    }

    public string FloatInitializer(string name, float[] data, params long[] dims)
    {
        CheckSize(data.Length, dims);
        var bytes = new byte[data.Length * sizeof(float)];
        Buffer.BlockCopy(data, 0, bytes, 0, bytes.Length);
        return Initializer(name, TensorProto.Types.DataType.Float, bytes, dims);
    }

    public string Int64Initializer(string name, long[] data, params long[] dims)
    {
        CheckSize(data.Length, dims);
        var bytes = new byte[data.Length * sizeof(long)];
        Buffer.BlockCopy(data, 0, bytes, 0, bytes.Length);
        return Initializer(name, TensorProto.Types.DataType.Int64, bytes, dims);
    }

    public string BoolInitializer(string name, bool[] data, params long[] dims)
    {
        CheckSize(data.Length, dims);
        return Initializer(name, TensorProto.Types.DataType.Bool, data.Select(b => b ? (byte)1 : (byte)0).ToArray(), dims);
    }

    public string FloatScalar(string name, float value) => FloatInitializer(name, [value]);

    public string Int64Scalar(string name, long value) => Int64Initializer(name, [value]);

    private string Initializer(string name, TensorProto.Types.DataType type, byte[] littleEndian, long[] dims)
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("ONNX raw_data is little-endian; big-endian hosts are not supported");
        }
        if (!_names.Add(name))
        {
            throw new ArgumentException($"duplicate value name '{name}'", nameof(name));
        }
        var tensor = new TensorProto { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(littleEndian) };
        tensor.Dims.AddRange(dims);
        _graph.Initializer.Add(tensor);
        return name;
    }

    /// <summary>Declares a graph input or output of a tensor type; each dim is a long (fixed) or a string (symbolic).</summary>
    public static ValueInfoProto TensorValue(string name, TensorProto.Types.DataType type, params object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var dim in dims)
        {
            shape.Dim.Add(dim switch
            {
                long value => new TensorShapeProto.Types.Dimension { DimValue = value },
                int value => new TensorShapeProto.Types.Dimension { DimValue = value },
                string param => new TensorShapeProto.Types.Dimension { DimParam = param },
                _ => throw new ArgumentException($"dimension {dim} must be a number or a name"),
            });
        }
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }

    public void Input(ValueInfoProto value)
    {
        _names.Add(value.Name);
        _graph.Input.Add(value);
    }

    public void Output(ValueInfoProto value) => _graph.Output.Add(value);

    public static AttributeProto Int(string name, long value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Int, I = value };

    public static AttributeProto Float(string name, float value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Float, F = value };

    public static AttributeProto Ints(string name, params long[] values)
    {
        var attribute = new AttributeProto { Name = name, Type = AttributeProto.Types.AttributeType.Ints };
        attribute.Ints.AddRange(values);
        return attribute;
    }

    public static AttributeProto String(string name, string value) =>
        new() { Name = name, Type = AttributeProto.Types.AttributeType.String, S = Google.Protobuf.ByteString.CopyFromUtf8(value) };

    public static AttributeProto Tensor(string name, TensorProto value) => new() { Name = name, Type = AttributeProto.Types.AttributeType.Tensor, T = value };

    private static void CheckSize(int length, long[] dims)
    {
        var expected = dims.Aggregate(1L, (a, b) => a * b);
        if (expected != length)
        {
            throw new ArgumentException($"{length} values for shape [{string.Join(", ", dims)}]");
        }
    }
}
