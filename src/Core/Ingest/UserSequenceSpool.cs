using RoleGen.Core.Cohort;
using RoleGen.Core.Events;

namespace RoleGen.Core.Ingest;

/// <summary>One event of a spooled user sequence, with item and category as dense indices of the caller's vocabulary.</summary>
public readonly record struct SpooledStep(int Item, int Category, EventType Type, long Ts);

/// <summary>
/// Groups a stream of events by user with bounded memory: events are spooled (compact binary) to local temp files
/// partitioned by a stable hash of the user id, then <see cref="Users"/> reads one partition at a time, groups it by user
/// and yields each user's steps in time order (ties keep arrival order). Memory is one partition. Used by the model
/// builders that need whole per-user sequences out of an event log of any size.
/// </summary>
public sealed class UserSequenceSpool : IDisposable
{
    private readonly string _directory;
    private readonly string _salt;
    private readonly BinaryWriter?[] _writers;
    private readonly long[] _counts;
    private bool _reading;

    public UserSequenceSpool(int partitions, string salt)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(partitions, 1);
        _salt = salt;
        _writers = new BinaryWriter?[partitions];
        _counts = new long[partitions];
        _directory = Path.Combine(Path.GetTempPath(), "rolegen-spool", $"{salt}-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_directory);
    }

    /// <summary>Partitions for about <paramref name="events"/> events at <paramref name="eventsPerPartition"/> each (1..4096).</summary>
    public static int PartitionsFor(long events, long eventsPerPartition) =>
        (int)Math.Clamp((events + eventsPerPartition - 1) / Math.Max(1, eventsPerPartition), 1, 4096);

    public long Count { get; private set; }

    public void Add(string userId, SpooledStep step)
    {
        ArgumentNullException.ThrowIfNull(userId);
        if (_reading)
        {
            throw new InvalidOperationException("The spool is being read; add every event first.");
        }
        var p = _writers.Length == 1 ? 0 : StableHash.Bucket(userId, _writers.Length, _salt);
        var w = _writers[p] ??= new BinaryWriter(new BufferedStream(File.Create(PartitionPath(p)), 1 << 16));
        w.Write(userId);
        w.Write(step.Item);
        w.Write(step.Category);
        w.Write((byte)step.Type);
        w.Write(step.Ts);
        _counts[p]++;
        Count++;
    }

    /// <summary>Every user's steps in time order, partition after partition (each file is deleted once read).</summary>
    public IEnumerable<(string UserId, List<SpooledStep> Steps)> Users(CancellationToken cancellationToken = default)
    {
        _reading = true;
        foreach (var w in _writers)
        {
            w?.Dispose();
        }
        for (var p = 0; p < _writers.Length; p++)
        {
            if (_counts[p] == 0)
            {
                continue;
            }
            var byUser = new Dictionary<string, List<(SpooledStep Step, int Order)>>(StringComparer.Ordinal);
            using (var r = new BinaryReader(new BufferedStream(File.OpenRead(PartitionPath(p)), 1 << 16)))
            {
                // Read a known count: asking a buffered file stream for Position/Length per record costs a syscall each.
                for (long n = 0; n < _counts[p]; n++)
                {
                    var user = r.ReadString();
                    var step = new SpooledStep(r.ReadInt32(), r.ReadInt32(), (EventType)r.ReadByte(), r.ReadInt64());
                    if (!byUser.TryGetValue(user, out var list))
                    {
                        byUser[user] = list = [];
                    }
                    list.Add((step, list.Count));
                }
            }
            File.Delete(PartitionPath(p));
            foreach (var (user, sequence) in byUser)
            {
                sequence.Sort(static (a, b) => a.Step.Ts != b.Step.Ts ? a.Step.Ts.CompareTo(b.Step.Ts) : a.Order.CompareTo(b.Order));
                yield return (user, sequence.ConvertAll(static x => x.Step));
            }
            cancellationToken.ThrowIfCancellationRequested();
        }
    }

    private string PartitionPath(int partition) => Path.Combine(_directory, $"{partition}.bin");

    public void Dispose()
    {
        foreach (var w in _writers)
        {
            w?.Dispose();
        }
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // best effort: the OS cleans its temp directory
        }
    }
}
