using System.Globalization;
using System.Text;
using RoleGen.Core.Events;

namespace RoleGen.Core.Ingest;

/// <summary>Writes the normalized CSV schema (<see cref="EventReader.NormalizedHeader"/>) with RFC 4180 quoting.</summary>
public sealed class NormalizedCsvWriter : IDisposable, IAsyncDisposable
{
    private readonly StreamWriter _writer;

    public NormalizedCsvWriter(Stream stream, bool writeHeader = true)
    {
        _writer = new StreamWriter(stream, new UTF8Encoding(false), 1 << 16) { NewLine = "\n" };
        if (writeHeader)
        {
            _writer.WriteLine(EventReader.NormalizedHeader);
        }
    }

    public long Rows { get; private set; }

    public void Write(in BehaviorEvent e)
    {
        WriteField(e.UserId);
        _writer.Write(',');
        WriteField(e.ItemId);
        _writer.Write(',');
        WriteField(e.CategoryId);
        _writer.Write(',');
        _writer.Write(e.Type.ToName());
        _writer.Write(',');
        _writer.Write(e.Timestamp.ToString(CultureInfo.InvariantCulture));
        _writer.Write('\n');
        Rows++;
    }

    private void WriteField(string value)
    {
        if (value.AsSpan().IndexOfAny(",\"\n\r") < 0)
        {
            _writer.Write(value);
            return;
        }
        _writer.Write('"');
        _writer.Write(value.Replace("\"", "\"\"", StringComparison.Ordinal));
        _writer.Write('"');
    }

    public void Dispose() => _writer.Dispose();

    public ValueTask DisposeAsync() => _writer.DisposeAsync();
}
