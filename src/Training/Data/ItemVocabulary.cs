using System.Text.Json;
using System.Text.Json.Serialization;
using RoleGen.Training.Model;

namespace RoleGen.Training.Data;

/// <summary>Item id ↔ token map. Tokens are 1..<see cref="Count"/>; 0 is the padding token and maps to no item.</summary>
public sealed class ItemVocabulary
{
    private readonly string[] _ids;
    private readonly string[] _categories;
    private readonly Dictionary<string, int> _tokens;

    /// <param name="itemIds">Item ids in token order: <c>itemIds[i]</c> has token i + 1. Must be distinct.</param>
    /// <param name="categories">Category per item (same order), or null for "0" (unknown) everywhere.</param>
    public ItemVocabulary(IReadOnlyList<string> itemIds, IReadOnlyList<string>? categories = null)
    {
        ArgumentNullException.ThrowIfNull(itemIds);
        if (categories is not null && categories.Count != itemIds.Count)
        {
            throw new ArgumentException("categories must have one entry per item", nameof(categories));
        }
        _ids = itemIds.ToArray();
        _categories = categories?.ToArray() ?? Enumerable.Repeat(Core.Ingest.EventReader.UnknownCategory, _ids.Length).ToArray();
        _tokens = new Dictionary<string, int>(_ids.Length, StringComparer.Ordinal);
        for (var i = 0; i < _ids.Length; i++)
        {
            if (!_tokens.TryAdd(_ids[i], i + 1))
            {
                throw new ArgumentException($"duplicate item id '{_ids[i]}'", nameof(itemIds));
            }
        }
    }

    /// <summary>Number of real items V (tokens 1..V).</summary>
    public int Count => _ids.Length;

    public string IdOf(int token) => token >= 1 && token <= _ids.Length
        ? _ids[token - 1]
        : throw new ArgumentOutOfRangeException(nameof(token), token, $"item tokens are 1..{_ids.Length}");

    public string CategoryOf(int token) => token >= 1 && token <= _ids.Length
        ? _categories[token - 1]
        : throw new ArgumentOutOfRangeException(nameof(token), token, $"item tokens are 1..{_ids.Length}");

    public bool TryGetToken(string itemId, out int token) => _tokens.TryGetValue(itemId, out token);

    /// <summary>Writes vocab.json (format <see cref="VocabularyFile.FormatName"/>).</summary>
    public void Save(string path, BackboneOptions model, bool collapseRepeats = false)
    {
        ArgumentNullException.ThrowIfNull(model);
        var file = new VocabularyFile
        {
            NumItems = Count,
            MaxLength = model.MaxLength,
            CollapseRepeats = collapseRepeats,
            ItemIds = _ids,
            ItemCategories = _categories,
        };
        using var stream = File.Create(path);
        JsonSerializer.Serialize(stream, file, VocabularyJson.Options);
    }

    public static ItemVocabulary Load(string path)
    {
        using var stream = File.OpenRead(path);
        var file = JsonSerializer.Deserialize<VocabularyFile>(stream, VocabularyJson.Options)
            ?? throw new InvalidDataException($"{path}: empty vocabulary");
        if (file.Format != VocabularyFile.FormatName)
        {
            throw new InvalidDataException($"{path}: format '{file.Format}', expected '{VocabularyFile.FormatName}'");
        }
        if (file.ItemIds.Count != file.NumItems)
        {
            throw new InvalidDataException($"{path}: numItems {file.NumItems} but {file.ItemIds.Count} item ids");
        }
        return new ItemVocabulary(file.ItemIds, file.ItemCategories);
    }
}

/// <summary>The JSON shape of vocab.json (documented in ONNX-CONTRACT.md).</summary>
public sealed class VocabularyFile
{
    public const string FormatName = "rolegen-backbone-vocab/1";

    public string Format { get; init; } = FormatName;

    /// <summary>V: item tokens are 1..V; the ONNX output layer has V + 1 columns (column 0 = pad).</summary>
    public int NumItems { get; init; }

    /// <summary>L: the ONNX <c>items</c>/<c>actions</c> inputs are [B, L].</summary>
    public int MaxLength { get; init; }

    public int PadToken { get; init; }

    /// <summary>True when the model was trained on sequences with consecutive repeats of one (item, action) collapsed:
    /// readers encode a history the same way (keep one step of each such run).</summary>
    public bool CollapseRepeats { get; init; }

    /// <summary>Action tokens: pad 0, view 1, fav 2, cart 3, purchase 4.</summary>
    public IReadOnlyDictionary<string, int> Actions { get; init; } = ActionTokens.Names;

    /// <summary>Conversion = the next action is one of these.</summary>
    public IReadOnlyList<string> ConversionActions { get; init; } = ["cart", "purchase"];

    /// <summary><c>itemIds[i]</c> is the item id of token i + 1.</summary>
    public IReadOnlyList<string> ItemIds { get; init; } = [];

    /// <summary><c>itemCategories[i]</c> is the category id of token i + 1 ("0" = unknown).</summary>
    public IReadOnlyList<string> ItemCategories { get; init; } = [];
}

internal static class VocabularyJson
{
    public static readonly JsonSerializerOptions Options = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    };
}
