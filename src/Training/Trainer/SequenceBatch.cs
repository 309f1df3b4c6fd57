using RoleGen.Training.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace RoleGen.Training;

/// <summary>Builders for right-aligned int64 batches (0 = pad).</summary>
public static class SequenceBatch
{
    /// <summary>[rows, width] int64: each row's last <paramref name="width"/> values, right-aligned, left-padded with 0.</summary>
    public static long[] RightAligned(IReadOnlyList<int[]> rows, int width)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var data = new long[rows.Count * width];
        for (var r = 0; r < rows.Count; r++)
        {
            var row = rows[r];
            var take = Math.Min(width, row.Length);
            var offset = r * width + width - take;
            for (var j = 0; j < take; j++)
            {
                data[offset + j] = row[row.Length - take + j];
            }
        }
        return data;
    }

    public static Tensor RightAlignedTensor(IReadOnlyList<int[]> rows, int width) =>
        torch.tensor(RightAligned(rows, width), new long[] { rows.Count, width }, ScalarType.Int64);

    /// <summary>[rows, E] int64 of each row's distinct tokens, 0-padded; E = the largest distinct count (at least 1).</summary>
    public static Tensor ExcludeTensor(IReadOnlyList<IEnumerable<int>> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var sets = rows.Select(r => r.Distinct().ToArray()).ToArray();
        var width = Math.Max(1, sets.Length == 0 ? 1 : sets.Max(s => s.Length));
        var data = new long[sets.Length * width];
        for (var r = 0; r < sets.Length; r++)
        {
            for (var j = 0; j < sets[r].Length; j++)
            {
                data[r * width + j] = sets[r][j];
            }
        }
        return torch.tensor(data, new long[] { sets.Length, width }, ScalarType.Int64);
    }

    /// <summary>The width a batch needs: its longest row, capped at <paramref name="maxLength"/>.</summary>
    public static int Width(IEnumerable<int[]> rows, int maxLength) => Math.Max(1, Math.Min(maxLength, rows.Max(r => r.Length)));

    internal static bool IsConversion(int actionToken) => ActionTokens.IsConversion(actionToken);
}
