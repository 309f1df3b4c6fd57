namespace RoleGen.Cli;

/// <summary>One progress line: rewritten in place on a terminal, a new line at most every few seconds otherwise
/// (CI logs, pipes).</summary>
public sealed class ConsoleProgress(TextWriter output, bool interactive)
{
    private DateTime _lastPrint = DateTime.MinValue;
    private string? _last;
    private int _width;

    public static ConsoleProgress ForConsole() => new(Console.Out, !Console.IsOutputRedirected);

    public void Report(string text, bool force = false)
    {
        if (text == _last && !force)
        {
            return;
        }
        var now = DateTime.UtcNow;
        if (interactive)
        {
            var padded = text.PadRight(_width);
            _width = text.Length;
            output.Write('\r' + padded);
            _last = text;
        }
        else if (force || (now - _lastPrint).TotalSeconds >= 5)
        {
            output.WriteLine(text);
            _lastPrint = now;
            _last = text;
        }
    }

    public void Done(string? text = null)
    {
        if (interactive && _last is not null)
        {
            output.Write('\r' + (text ?? _last).PadRight(_width) + Environment.NewLine);
        }
        else if (text is not null)
        {
            output.WriteLine(text);
        }
        _last = null;
        _width = 0;
    }
}
