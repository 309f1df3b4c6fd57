using System.Globalization;
using System.Net;
using System.Text;

namespace RoleGen.Core.Reporting;

/// <summary>One series of a bar chart: a name and one value per group, with optional CI bounds (NaN = no error bar).</summary>
public sealed record BarSeries(string Name, IReadOnlyList<double> Values, IReadOnlyList<double>? Lower = null, IReadOnlyList<double>? Upper = null);

/// <summary>
/// Self-contained HTML for evaluation reports: inline CSS, no scripts, charts as inline SVG drawn here, so a report is
/// one file that opens anywhere (blob storage, mail attachment, offline) and cannot pull anything from the network.
/// Every piece of text goes through <see cref="WebUtility.HtmlEncode"/>; numbers are formatted with the invariant culture.
/// </summary>
public static class HtmlReport
{
    private static readonly CultureInfo Ci = CultureInfo.InvariantCulture;

    // Colour-blind-safe palette (Okabe–Ito).
    private static readonly string[] Palette = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"];

    public static string Encode(string? text) => WebUtility.HtmlEncode(text ?? string.Empty);

    /// <summary>A whole page: title, then the given body fragments (already HTML).</summary>
    public static string Page(string title, IEnumerable<string> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        var sb = new StringBuilder();
        sb.AppendLine("<!DOCTYPE html>");
        sb.AppendLine("<html lang=\"en\"><head><meta charset=\"utf-8\">");
        sb.Append("<title>").Append(Encode(title)).AppendLine("</title>");
        sb.AppendLine("<style>body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:2em;color:#222;max-width:1200px}" +
                      "table{border-collapse:collapse;margin:1em 0;font-size:14px}th,td{border:1px solid #ccc;padding:4px 8px}" +
                      "th{background:#f3f3f3}td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}" +
                      "p.meta{color:#555;font-size:13px}p.headline{font-weight:bold;font-size:15px}p.note{color:#7a4b00}svg{margin:1em 0;display:block}</style>");
        sb.AppendLine("</head><body>");
        sb.Append("<h1>").Append(Encode(title)).AppendLine("</h1>");
        foreach (var part in body)
        {
            sb.AppendLine(part);
        }
        sb.AppendLine("</body></html>");
        return sb.ToString();
    }

    public static string Heading(string text, int level = 2) => $"<h{level}>{Encode(text)}</h{level}>";

    public static string Paragraph(string text, string? cssClass = null) =>
        cssClass is null ? $"<p>{Encode(text)}</p>" : $"<p class=\"{Encode(cssClass)}\">{Encode(text)}</p>";

    /// <summary>A table; cells that parse as numbers (or start with one, e.g. "0.01 [0.00, 0.02]") are right-aligned.</summary>
    public static string Table(IReadOnlyList<string> header, IEnumerable<IReadOnlyList<string>> rows)
    {
        ArgumentNullException.ThrowIfNull(header);
        ArgumentNullException.ThrowIfNull(rows);
        var sb = new StringBuilder("<table><thead><tr>");
        foreach (var h in header)
        {
            sb.Append("<th>").Append(Encode(h)).Append("</th>");
        }
        sb.Append("</tr></thead><tbody>");
        foreach (var row in rows)
        {
            sb.Append("<tr>");
            foreach (var cell in row)
            {
                var numeric = cell.Length > 0 && (char.IsDigit(cell[0]) || cell.StartsWith('-') || cell.StartsWith('∞') || cell == "n/a");
                sb.Append(numeric ? "<td class=\"n\">" : "<td>").Append(Encode(cell)).Append("</td>");
            }
            sb.Append("</tr>");
        }
        sb.Append("</tbody></table>");
        return sb.ToString();
    }

    /// <summary>
    /// Grouped vertical bar chart as inline SVG: one group per <paramref name="groups"/> label (e.g. Recall@1, @5, …),
    /// one bar per series (model) inside each group, 95% CI error bars where the series has bounds. The y axis starts at 0
    /// and ends at the largest value or upper bound rounded up to a "nice" step, so bars of different charts are not
    /// visually exaggerated.
    /// </summary>
    public static string GroupedBarChart(string title, IReadOnlyList<string> groups, IReadOnlyList<BarSeries> series, string yLabel,
        int width = 760, int height = 360)
    {
        ArgumentNullException.ThrowIfNull(groups);
        ArgumentNullException.ThrowIfNull(series);
        const double left = 70, right = 160, top = 40, bottom = 50;
        var plotW = width - left - right;
        var plotH = height - top - bottom;
        var max = 0.0;
        foreach (var s in series)
        {
            for (var g = 0; g < groups.Count; g++)
            {
                max = Math.Max(max, Finite(s.Values[g]));
                if (s.Upper is not null)
                {
                    max = Math.Max(max, Finite(s.Upper[g]));
                }
            }
        }
        var (yMax, step) = NiceScale(max);
        double Y(double v) => top + plotH - Math.Clamp(v, 0, yMax) / yMax * plotH;

        var sb = new StringBuilder();
        sb.Append(Ci, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"{Encode(title)}\">");
        sb.Append("<title>").Append(Encode(title)).Append("</title>");
        sb.Append(Ci, $"<text x=\"{width / 2.0:F1}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">{Encode(title)}</text>");
        // Grid and y ticks.
        for (var v = 0.0; v <= yMax + step / 2; v += step)
        {
            var y = Y(v);
            sb.Append(Ci, $"<line x1=\"{left:F1}\" y1=\"{y:F1}\" x2=\"{left + plotW:F1}\" y2=\"{y:F1}\" stroke=\"#e5e5e5\"/>");
            sb.Append(Ci, $"<text x=\"{left - 6:F1}\" y=\"{y + 4:F1}\" text-anchor=\"end\" font-size=\"11\">{Encode(Tick(v, step))}</text>");
        }
        sb.Append(Ci, $"<line x1=\"{left:F1}\" y1=\"{top + plotH:F1}\" x2=\"{left + plotW:F1}\" y2=\"{top + plotH:F1}\" stroke=\"#333\"/>");
        sb.Append(Ci, $"<line x1=\"{left:F1}\" y1=\"{top:F1}\" x2=\"{left:F1}\" y2=\"{top + plotH:F1}\" stroke=\"#333\"/>");
        sb.Append(Ci, $"<text transform=\"translate(16 {top + plotH / 2:F1}) rotate(-90)\" text-anchor=\"middle\" font-size=\"12\">{Encode(yLabel)}</text>");

        var groupW = plotW / Math.Max(1, groups.Count);
        var barW = groupW * 0.8 / Math.Max(1, series.Count);
        for (var g = 0; g < groups.Count; g++)
        {
            var gx = left + g * groupW + groupW * 0.1;
            sb.Append(Ci, $"<text x=\"{left + (g + 0.5) * groupW:F1}\" y=\"{top + plotH + 18:F1}\" text-anchor=\"middle\" font-size=\"12\">{Encode(groups[g])}</text>");
            for (var s = 0; s < series.Count; s++)
            {
                var value = series[s].Values[g];
                var x = gx + s * barW;
                var colour = Palette[s % Palette.Length];
                if (double.IsFinite(value))
                {
                    var y = Y(value);
                    sb.Append(Ci, $"<rect x=\"{x + 1:F1}\" y=\"{y:F1}\" width=\"{Math.Max(1, barW - 2):F1}\" height=\"{top + plotH - y:F1}\" fill=\"{colour}\">");
                    sb.Append(Ci, $"<title>{Encode(series[s].Name)} {Encode(groups[g])}: {value:F4}</title></rect>");
                }
                if (series[s].Lower is { } lo && series[s].Upper is { } hi && double.IsFinite(lo[g]) && double.IsFinite(hi[g]))
                {
                    var cx = x + barW / 2;
                    var (y1, y2) = (Y(lo[g]), Y(hi[g]));
                    var cap = Math.Min(6, barW / 3);
                    sb.Append(Ci, $"<path d=\"M{cx:F1} {y1:F1}V{y2:F1}M{cx - cap:F1} {y1:F1}H{cx + cap:F1}M{cx - cap:F1} {y2:F1}H{cx + cap:F1}\" stroke=\"#222\" stroke-width=\"1.2\" fill=\"none\" class=\"ci\"/>");
                }
            }
        }
        // Legend.
        for (var s = 0; s < series.Count; s++)
        {
            var ly = top + 10 + s * 20;
            sb.Append(Ci, $"<rect x=\"{left + plotW + 16:F1}\" y=\"{ly - 10:F1}\" width=\"12\" height=\"12\" fill=\"{Palette[s % Palette.Length]}\"/>");
            sb.Append(Ci, $"<text x=\"{left + plotW + 34:F1}\" y=\"{ly:F1}\" font-size=\"12\">{Encode(series[s].Name)}</text>");
        }
        if (series.Any(s => s.Lower is not null))
        {
            sb.Append(Ci, $"<text x=\"{left + plotW + 16:F1}\" y=\"{top + 14 + series.Count * 20:F1}\" font-size=\"11\" fill=\"#555\">whiskers: 95% bootstrap CI</text>");
        }
        sb.Append("</svg>");
        return sb.ToString();
    }

    /// <summary>Upper end of the axis and tick step: 1, 2 or 5 × 10^n, about five ticks.</summary>
    public static (double Max, double Step) NiceScale(double max)
    {
        if (!(max > 0) || !double.IsFinite(max))
        {
            return (1, 0.2);
        }
        var raw = max / 5;
        var magnitude = Math.Pow(10, Math.Floor(Math.Log10(raw)));
        var step = new[] { 1.0, 2, 5, 10 }.Select(m => m * magnitude).First(s => s >= raw);
        return (Math.Ceiling(max / step - 1e-9) * step, step);
    }

    private static string Tick(double v, double step)
    {
        var decimals = Math.Max(0, (int)Math.Ceiling(-Math.Log10(step)));
        return v.ToString("F" + decimals.ToString(Ci), Ci);
    }

    private static double Finite(double v) => double.IsFinite(v) ? v : 0;
}
