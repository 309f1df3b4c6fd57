using System.Globalization;
using System.Text;
using RoleGen.Core.Reporting;

namespace RoleGen.Core.Runs;

/// <summary>
/// The run's HTML report (<c>runs/{runId}/report.html</c>, next to report.md): one self-contained file in the style of the
/// evaluation reports (<see cref="HtmlReport"/>: inline CSS and SVG, no scripts). Phase timings and the shards' timeline
/// as charts, shards as a table with status, users per arm, reasoners, roles and sources, the top categories before and
/// after fusion, and an explanation for a sample of users (trajectory with roles, counterfactual paths with Δ, final list
/// with source and role). Only aggregates and the explained sample name users.
/// </summary>
public static class RunHtmlReport
{
    private static readonly CultureInfo Ci = CultureInfo.InvariantCulture;

    /// <summary>Trajectory steps shown per explained user (the most recent).</summary>
    public const int StepsShown = 25;

    public static string Render(RunManifest m, IReadOnlyList<UserExplanation> sample)
    {
        ArgumentNullException.ThrowIfNull(m);
        ArgumentNullException.ThrowIfNull(sample);
        var body = new List<string>
        {
            HtmlReport.Paragraph(string.Create(Ci, $"Status {m.Status}; dataset {m.Request.Dataset}; written {m.WrittenAt:u}."), "meta"),
        };
        if (m.Error is not null)
        {
            body.Add(HtmlReport.Paragraph("Error: " + m.Error, "note"));
        }
        body.Add(HtmlReport.Table(["", ""], Overview(m)));

        body.Add(HtmlReport.Heading("Phase timings"));
        var t = m.Timings;
        var finalize = Math.Max(0, t.TotalSeconds - t.SelectSeconds - t.ModelSeconds - t.ShardsSeconds);
        body.Add(HtmlReport.GroupedBarChart("Wall time per phase (s)", ["prepare (select)", "model", "shards", "finalize + overhead"],
            [new BarSeries("seconds", [t.SelectSeconds, t.ModelSeconds, t.ShardsSeconds, finalize])], "seconds"));
        if (m.Shards.Count > 0)
        {
            body.Add(ShardTimeline(m));
        }

        body.Add(HtmlReport.Heading("Shards"));
        body.Add(HtmlReport.Table(["shard", "status", "users", "published", "attempts", "reason s", "score s", "publish s", "model", "runtime", "error"],
            m.Shards.Select(s => (IReadOnlyList<string>)
            [
                s.Shard.ToString(Ci), s.Status.ToString(), s.Users.ToString("N0", Ci), s.Published.ToString("N0", Ci), s.Attempts.ToString(Ci),
                (s.Reasoning?.Seconds ?? 0).ToString("F2", Ci), s.ScoreSeconds.ToString("F2", Ci), s.PublishSeconds.ToString("F2", Ci),
                s.Model ?? "", s.Runtime ?? "", s.Error ?? "",
            ])));

        if (m.Experiment is { } x)
        {
            body.Add(HtmlReport.Heading("Users per arm"));
            body.Add(HtmlReport.Paragraph(string.Create(Ci, $"Experiment {x.Name}: treatment share {x.TreatmentShare:P0} (RoleGen), control = the model alone; attribution window {x.AttributionDays:0.#} days."), "meta"));
            body.Add(HtmlReport.Table(["arm", "users"], x.UsersByArm.OrderBy(kv => kv.Key, StringComparer.Ordinal)
                .Select(kv => (IReadOnlyList<string>)[kv.Key, kv.Value.ToString("N0", Ci)])));
        }

        if (m.Reasoning is { Enabled: true } r)
        {
            body.Add(HtmlReport.Heading("Reasoning: roles and sources"));
            body.Add(HtmlReport.Paragraph(string.Create(Ci,
                $"{r.Users:N0} users reasoned ({Pairs(r.Reasoners)}); {r.Paths:N0} counterfactual paths kept, mean Δ {r.MeanDelta:+0.0000;-0.0000;0}; " +
                $"reasoning {r.ReasonSeconds:F1} s vs scoring {r.ScoreSeconds:F1} s ({r.ReasoningOverScoring:F2}×).")));
            var roles = r.PathsByRole.Keys.Union(r.ItemsByRole.Keys, StringComparer.Ordinal).Order(StringComparer.Ordinal).ToArray();
            body.Add(HtmlReport.Table(["role", "paths kept", "recommended items"],
                roles.Select(k => (IReadOnlyList<string>)[k, r.PathsByRole.GetValueOrDefault(k).ToString("N0", Ci), r.ItemsByRole.GetValueOrDefault(k).ToString("N0", Ci)])));
            body.Add(HtmlReport.Table(["source", "recommended items"],
                r.ItemsBySource.OrderByDescending(kv => kv.Value).Select(kv => (IReadOnlyList<string>)[kv.Key, kv.Value.ToString("N0", Ci)])));
        }
        else if (m.Reasoning is { } off)
        {
            body.Add(HtmlReport.Heading("Reasoning"));
            body.Add(HtmlReport.Paragraph("Off: " + (off.Note ?? "disabled in the run request") + "."));
        }

        var (before, after) = Categories(m);
        if (before.Count > 0)
        {
            body.Add(HtmlReport.Heading("Top categories before and after fusion"));
            body.Add(HtmlReport.Paragraph("Category mix of the fused users' lists: the model's own top-K (before) and the final list (after). " +
                                          "Summed over shards, each shard's top " + ShardOutcome.TopCategories.ToString(Ci) + ".", "meta"));
            var totalBefore = Math.Max(1, before.Values.Sum());
            var totalAfter = Math.Max(1, after.Values.Sum());
            var top = before.Keys.Union(after.Keys, StringComparer.Ordinal)
                .OrderByDescending(k => Math.Max(before.GetValueOrDefault(k) / (double)totalBefore, after.GetValueOrDefault(k) / (double)totalAfter))
                .ThenBy(k => k, StringComparer.Ordinal).Take(12).ToArray();
            body.Add(HtmlReport.GroupedBarChart("Share of recommended items per category", top,
                [
                    new BarSeries("before fusion", top.Select(k => before.GetValueOrDefault(k) / (double)totalBefore).ToArray()),
                    new BarSeries("after fusion", top.Select(k => after.GetValueOrDefault(k) / (double)totalAfter).ToArray()),
                ], "share of items"));
            body.Add(HtmlReport.Table(["category", "items before", "share before", "items after", "share after"],
                top.Select(k => (IReadOnlyList<string>)
                [
                    k, before.GetValueOrDefault(k).ToString("N0", Ci), Percent(before.GetValueOrDefault(k) / (double)totalBefore),
                    after.GetValueOrDefault(k).ToString("N0", Ci), Percent(after.GetValueOrDefault(k) / (double)totalAfter),
                ])));
        }

        if (sample.Count > 0)
        {
            body.Add(HtmlReport.Heading("Why these lists: a sample of users"));
            body.Add(HtmlReport.Paragraph(string.Create(Ci, $"{sample.Count} users of shard {sample[0].Shard} (treatment first). Any other: rolegen explain {m.RunId} --user <id>."), "meta"));
            foreach (var e in sample)
            {
                body.AddRange(Explain(e));
            }
        }
        return HtmlReport.Page($"RoleGen run {m.RunId} — {m.Status}", body);
    }

    private static IEnumerable<IReadOnlyList<string>> Overview(RunManifest m)
    {
        if (m.Input is { } input)
        {
            yield return ["input", string.Create(Ci, $"{input.Source} ({input.Format}): {input.Events:N0} events, {input.Quarantined:N0} rows quarantined")];
        }
        if (m.Cohort is { } c)
        {
            yield return ["window", string.Create(Ci, $"{DateTimeOffset.FromUnixTimeSeconds(c.WindowStartUnixSeconds):u} → {DateTimeOffset.FromUnixTimeSeconds(c.AsOfUnixSeconds):u}")];
            yield return ["dormant users", string.Create(Ci, $"{c.Dormant:N0} of {c.UsersInWindow:N0} users in the window")];
        }
        if (m.Model is { } model)
        {
            yield return ["model", $"{model.Kind} @ {model.Version}"];
        }
        yield return ["users published", string.Create(Ci, $"{m.Counts.Published:N0} of {m.Counts.Dormant:N0}")];
        yield return ["shards", m.Counts.ShardsFailed == 0
            ? string.Create(Ci, $"{m.Counts.Shards} (none failed)")
            : string.Create(Ci, $"{m.Counts.Shards} ({m.Counts.ShardsFailed} failed, {m.Counts.UsersInFailedShards:N0} users in them)")];
        yield return ["wall time", string.Create(Ci, $"{m.Timings.TotalSeconds:F1} s ({m.Timings.ActivitySeconds:F1} s in activities)")];
    }

    private static (Dictionary<string, long> Before, Dictionary<string, long> After) Categories(RunManifest m)
    {
        var before = new Dictionary<string, long>(StringComparer.Ordinal);
        var after = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var s in m.Shards)
        {
            foreach (var (k, v) in s.CategoriesBeforeFusion ?? new Dictionary<string, long>())
            {
                before[k] = before.GetValueOrDefault(k) + v;
            }
            foreach (var (k, v) in s.CategoriesAfterFusion ?? new Dictionary<string, long>())
            {
                after[k] = after.GetValueOrDefault(k) + v;
            }
        }
        return (before, after);
    }

    /// <summary>Each shard as a bar from its start to its end (relative to the run's start); failed shards in red.</summary>
    private static string ShardTimeline(RunManifest m)
    {
        const int width = 760, left = 70, right = 20, rowH = 6, top = 30;
        var shards = m.Shards.OrderBy(s => s.Shard).ToArray();
        var start = m.Timings.StartedAt;
        var end = shards.Max(s => s.FinishedAt) > m.Timings.FinishedAt ? shards.Max(s => s.FinishedAt) : m.Timings.FinishedAt;
        var span = Math.Max(1e-3, (end - start).TotalSeconds);
        var rowStep = Math.Max(rowH + 1, Math.Min(16, 400 / Math.Max(1, shards.Length)));
        var height = top + shards.Length * rowStep + 40;
        var plotW = width - left - right;
        var sb = new StringBuilder();
        sb.Append(Ci, $"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" role=\"img\" aria-label=\"Shard timeline\">");
        sb.Append(Ci, $"<text x=\"{left}\" y=\"18\" font-size=\"14\" font-weight=\"bold\">Shards over the run (s since start)</text>");
        for (var i = 0; i < shards.Length; i++)
        {
            var s = shards[i];
            var x0 = left + plotW * Math.Clamp((s.StartedAt - start).TotalSeconds / span, 0, 1);
            var x1 = left + plotW * Math.Clamp((s.FinishedAt - start).TotalSeconds / span, 0, 1);
            var y = top + i * rowStep;
            var colour = s.Status == ShardStatus.Failed ? "#D55E00" : "#0072B2";
            sb.Append(Ci, $"<rect x=\"{x0:F1}\" y=\"{y}\" width=\"{Math.Max(1, x1 - x0):F1}\" height=\"{Math.Min(rowH + 4, rowStep - 1)}\" fill=\"{colour}\"><title>shard {s.Shard}: {s.Status}, {(s.FinishedAt - s.StartedAt).TotalSeconds:F1} s, {s.Users} users</title></rect>");
            if (shards.Length <= 32)
            {
                sb.Append(Ci, $"<text x=\"{left - 6}\" y=\"{y + rowH + 2}\" font-size=\"10\" text-anchor=\"end\">{s.Shard}</text>");
            }
        }
        var axisY = top + shards.Length * rowStep + 4;
        sb.Append(Ci, $"<line x1=\"{left}\" y1=\"{axisY}\" x2=\"{width - right}\" y2=\"{axisY}\" stroke=\"#888\"/>");
        var (_, step) = HtmlReport.NiceScale(span);
        for (var v = 0.0; v <= span + 1e-9; v += step)
        {
            var x = left + plotW * v / span;
            sb.Append(Ci, $"<text x=\"{x:F1}\" y=\"{axisY + 16}\" font-size=\"11\" text-anchor=\"middle\">{v:0.#}</text>");
        }
        sb.Append("</svg>");
        return sb.ToString();
    }

    private static IEnumerable<string> Explain(UserExplanation e)
    {
        var arm = e.Arm?.ToString().ToLowerInvariant() ?? "none";
        yield return HtmlReport.Heading($"User {e.UserId} ({arm})", 3);
        if (e.Reasoning is { } r)
        {
            yield return HtmlReport.Paragraph(string.Create(Ci, $"Reasoner {r.Reasoner}; P(conversion | trajectory) {r.BaseConversion:F4}. {r.Rationale}"), "meta");
        }
        var steps = e.Steps;
        if (steps.Count > 0)
        {
            var shown = steps.Skip(Math.Max(0, steps.Count - StepsShown)).ToArray();
            yield return HtmlReport.Paragraph(string.Create(Ci, $"Trajectory: the last {shown.Length} of {steps.Count} steps, oldest first."), "meta");
            yield return HtmlReport.Table(["time (UTC)", "event", "item", "category", "role", "confidence", "why"],
                shown.Select(x => (IReadOnlyList<string>)
                [
                    DateTimeOffset.FromUnixTimeSeconds(x.Step.Ts).ToString("yyyy-MM-dd HH:mm", Ci), x.Step.Type.ToString().ToLowerInvariant(), x.Step.Item, x.Step.Category,
                    x.Role?.Role.ToString().ToLowerInvariant() ?? "", x.Role?.Confidence.ToString("F2", Ci) ?? "", x.Role?.Reason ?? "",
                ]));
        }
        if (e.Reasoning is { Paths.Count: > 0 } withPaths)
        {
            yield return HtmlReport.Paragraph("Counterfactual paths do(show x), best first:", "meta");
            yield return HtmlReport.Table(["do(show)", "category", "role", "converts in", "Δ", "P(conversion)", "prior", "rationale"],
                withPaths.Paths.Select(p => (IReadOnlyList<string>)
                [
                    p.Item, p.Category, p.Role.ToString().ToLowerInvariant(), p.TargetCategory, p.Delta.ToString("+0.0000;-0.0000;0", Ci),
                    p.Conversion.ToString("F4", Ci), p.Prior.ToString("F2", Ci), p.Rationale,
                ]));
        }
        yield return HtmlReport.Paragraph("Final list:", "meta");
        yield return HtmlReport.Table(["rank", "item", "category", "score", "source", "role"],
            e.Items.Select(c => (IReadOnlyList<string>)
            [
                c.Rank.ToString(Ci), c.ItemId, c.CategoryId, c.Score.ToString("F4", Ci), c.Source, c.Role?.ToString().ToLowerInvariant() ?? "",
            ]));
    }

    private static string Percent(double share) => (100 * share).ToString("F1", Ci) + "%";

    private static string Pairs(IReadOnlyDictionary<string, long> d) =>
        d.Count == 0 ? "—" : string.Join(", ", d.Select(kv => string.Create(CultureInfo.InvariantCulture, $"{kv.Key} {kv.Value:N0}")));
}
