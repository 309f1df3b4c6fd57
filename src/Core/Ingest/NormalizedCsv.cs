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

    private void WriteField(string value) => WriteField(_writer, value);

    /// <summary>Writes one CSV field, quoted (with doubled quotes) only when it holds a comma, a quote or a line break.
    /// Shared by every CSV this project writes (normalized events, outcome events).</summary>
    public static void WriteField(TextWriter writer, string value)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(value);
        if (value.AsSpan().IndexOfAny(",\"\n\r") < 0)
        {
            writer.Write(value);
            return;
        }
        writer.Write('"');
        writer.Write(value.Replace("\"", "\"\"", StringComparison.Ordinal));
        writer.Write('"');
    }

    public void Dispose() => _writer.Dispose();

    public ValueTask DisposeAsync() => _writer.DisposeAsync();
}
