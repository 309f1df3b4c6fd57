namespace RoleGen.Core.Reasoning;

/// <summary>
/// Options of the Conversion Trajectory Reasoner and of fusion (<c>RoleGen:Reasoner</c>). They cross the durable
/// boundary inside the run request, so a run is reproducible from its manifest; reflection (issue 6) tunes the weights.
/// </summary>
public sealed record ReasonerOptions
{
    /// <summary>Off: the run scores with the backbone (or baseline) alone, as before the reasoner existed.</summary>
    public bool Enabled { get; init; } = true;

    /// <summary>M: role-diverse interventions do(show x) evaluated with the world model per user (each costs one
    /// conversion-head pass of the backbone, so this sets the reasoning cost). 3 keeps reasoning within 3× the
    /// backbone-only scoring time (`rolegen bench reason`: 2.6–2.9× at M = 3, 2.8–3.4× at M = 4, 20k items, 2 cores).</summary>
    public int MaxInterventions { get; init; } = Runs.RunDefaults.Interventions;

    /// <summary>K: conversion paths kept per user (best first) and merged into the ranking.</summary>
    public int PathsPerUser { get; init; } = Runs.RunDefaults.Interventions;

    /// <summary>Minimum exposed users for an item to be proposed as a trigger (fewer is noise, whatever its uplift).</summary>
    public int MinTriggerUsers { get; init; } = 3;

    /// <summary>Smoothed item uplift from which an unseen item is a trigger candidate.</summary>
    public double TriggerUplift { get; init; } = 1.3;

    /// <summary>Smoothed category→category conversion lift from which a category is a complement candidate.</summary>
    public double ComplementLift { get; init; } = 1.5;

    public FusionWeights Fusion { get; init; } = new();

    /// <summary>
    /// The run's LLM token budget, across all its shards and their retries: the run orchestration gives each shard a share
    /// (by users; what a finished shard left unspent goes to later ones), a shard's re-attempt gets only what its earlier
    /// attempts left, and no shard spends beyond its share. Null: no run-level cap (each shard attempt has the host's
    /// <c>RoleGen:Reasoner:Llm:MaxTokensPerRun</c>, as before). Ignored without an LLM reasoner.
    /// </summary>
    public long? LlmTokensPerRun { get; init; }

    public string? Validate()
    {
        var errors = new List<string>();
        if (MaxInterventions is < 0 or > Runs.RunDefaults.InterventionsMax)
        {
            errors.Add("Reasoner.MaxInterventions must be between 0 and 32.");
        }
        if (PathsPerUser < 0 || PathsPerUser > MaxInterventions)
        {
            errors.Add("Reasoner.PathsPerUser must be between 0 and MaxInterventions.");
        }
        if (MinTriggerUsers < 1)
        {
            errors.Add("Reasoner.MinTriggerUsers must be at least 1.");
        }
        if (!double.IsFinite(TriggerUplift) || TriggerUplift < 1 || !double.IsFinite(ComplementLift) || ComplementLift < 1)
        {
            errors.Add("Reasoner.TriggerUplift and ComplementLift must be finite and at least 1.");
        }
        if (LlmTokensPerRun is < 0)
        {
            errors.Add("Reasoner.LlmTokensPerRun must not be negative.");
        }
        if (Fusion.Validate() is { } f)
        {
            errors.Add(f);
        }
        return errors.Count == 0 ? null : string.Join(" ", errors);
    }
}

/// <summary>
/// Fusion score of a candidate item i for one user:
/// <c>Backbone · 1/log2(2 + rank_b(i)) + Uplift · clamp(Δ(i) / max(P0, 0.001), −1, 1) + Role · prior(role(i))</c>,
/// where rank_b is the 0-based rank in the backbone's list (the first term is 0 for an item the backbone did not list),
/// Δ the counterfactual uplift of showing i and P0 the user's base conversion probability (both 0 for an item without a
/// reasoned path), and prior the role prior below.
/// </summary>
public sealed record FusionWeights
{
    public double Backbone { get; init; } = 1.0;

    public double Uplift { get; init; } = 0.25;

    public double Role { get; init; } = 1.0;

    /// <summary>Prior of an item the user carted and did not buy.</summary>
    public double ConverterPrior { get; init; } = 1.0;

    /// <summary>Prior of an item the user came back to (revisited reference).</summary>
    public double AnchorPrior { get; init; } = 0.8;

    /// <summary>Prior of an alternative within the user's live intent.</summary>
    public double ComparisonPrior { get; init; } = 0.4;

    /// <summary>Prior of an item of a category bought with the user's categories.</summary>
    public double ComplementPrior { get; init; } = 0.3;

    /// <summary>Prior of a high-uplift item that opens a new intent.</summary>
    public double TriggerPrior { get; init; } = 0.3;

    /// <summary>Version label of this weight set (the manifest records it; reflection writes new versions).</summary>
    public string Version { get; init; } = "default";

    public double PriorOf(FunctionalRole role) => role switch
    {
        FunctionalRole.Converter => ConverterPrior,
        FunctionalRole.Anchor => AnchorPrior,
        FunctionalRole.Comparison => ComparisonPrior,
        FunctionalRole.Complement => ComplementPrior,
        FunctionalRole.Trigger => TriggerPrior,
        _ => 0,
    };

    public string? Validate()
    {
        double[] all = [Backbone, Uplift, Role, ConverterPrior, AnchorPrior, ComparisonPrior, ComplementPrior, TriggerPrior];
        return all.All(w => double.IsFinite(w) && w is >= 0 and <= 100)
            ? null
            : "Reasoner.Fusion weights and priors must be finite numbers between 0 and 100.";
    }
}
