using System.Text.Json;
using System.Text.Json.Serialization;

namespace RoleGen.Infrastructure.Scoring;

/// <summary>The backbone's <c>vocab.json</c> (format <c>rolegen-backbone-vocab/1</c>, written by src/Training): item tokens are
/// 1..NumItems (0 = padding) in the order of <see cref="ItemIds"/>; action tokens view 1, fav 2, cart 3, purchase 4.</summary>
public sealed class BackboneVocabulary
{
    public const string FormatName = "rolegen-backbone-vocab/1";

    private Dictionary<string, int>? _tokens;

    public string Format { get; init; } = FormatName;

    public int NumItems { get; init; }

    public int MaxLength { get; init; }

    public int PadToken { get; init; }

    /// <summary>Consecutive repeats of one (item, action) were collapsed in training: <see cref="BackboneRecommender"/>
    /// encodes histories the same way. Absent (older files) = false.</summary>
    public bool CollapseRepeats { get; init; }

    public IReadOnlyDictionary<string, int> Actions { get; init; } = new Dictionary<string, int>();

    public IReadOnlyList<string> ItemIds { get; init; } = [];

    public IReadOnlyList<string> ItemCategories { get; init; } = [];

    [JsonIgnore]
    public IReadOnlyDictionary<string, int> Tokens => _tokens ??= ItemIds.Select((id, i) => (id, i)).ToDictionary(x => x.id, x => x.i + 1, StringComparer.Ordinal);

    public static BackboneVocabulary Parse(Stream json)
    {
        var vocab = JsonSerializer.Deserialize<BackboneVocabulary>(json, new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.CamelCase })
            ?? throw new InvalidDataException("vocab.json is empty.");
        if (vocab.Format != FormatName)
        {
            throw new InvalidDataException($"vocab.json has format '{vocab.Format}', expected '{FormatName}'.");
        }
        if (vocab.ItemIds.Count != vocab.NumItems || (vocab.ItemCategories.Count != 0 && vocab.ItemCategories.Count != vocab.NumItems))
        {
            throw new InvalidDataException($"vocab.json declares {vocab.NumItems} items but lists {vocab.ItemIds.Count} ids and {vocab.ItemCategories.Count} categories.");
        }
        if (vocab.MaxLength < 1)
        {
            throw new InvalidDataException("vocab.json has no maxLength.");
        }
        return vocab;
    }

    public string CategoryOf(int token) => ItemCategories.Count == 0 ? "0" : ItemCategories[token - 1];
}
