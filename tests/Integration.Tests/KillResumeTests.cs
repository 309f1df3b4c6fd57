using System.Diagnostics;
using System.Text;
using Azure.Storage.Blobs;
using RoleGen.Core.Runs;
using RoleGen.Core.Storage;
using RoleGen.Infrastructure.Storage;
using RoleGen.LocalHost;
using Xunit.Abstractions;

namespace RoleGen.Integration.Tests;

/// <summary>Issue #14 item 8, "kill -9, automated": the CLI runs as a child process (the rolegen.dll copied beside these
/// tests), is SIGKILLed after some shards are published, restarted with the same run id, and must end with the same
/// candidates as an uninterrupted run of the same input and options, in bounded time.</summary>
public sealed class KillResumeTests(ITestOutputHelper log) : IAsyncLifetime
{
    private const string RunId = "kill-resume";

    /// <summary>The resumed run may take this much longer than the whole uninterrupted child process (the brief's bound:
    /// recovery ≤ 60 s plus the lost work). Before the fast-recovery settings a resume waited out 5-minute visibility timeouts.</summary>
    private const double RecoveryAllowanceSeconds = 60;

    /// <summary>How long a shard cut short by the kill may wait for its redelivery, on average over the interrupted shards.</summary>
    private const double MaxWaitPerInterruptedShardSeconds = 45;

    // Baseline and killed run each live in their own container and task hub, so the run id (written into every candidate
    // row) is the same and the candidates can be compared byte for byte.
    private readonly string _baselineContainer = $"kb-{Guid.NewGuid():N}"[..20];
    private readonly string _killedContainer = $"kk-{Guid.NewGuid():N}"[..20];
    private readonly string _baselineHub = $"kb{Guid.NewGuid():N}"[..20];
    private readonly string _killedHub = $"kk{Guid.NewGuid():N}"[..20];
    private readonly string _output = Path.Combine(Path.GetTempPath(), $"rolegen-kill-{Guid.NewGuid():N}");
    private readonly List<Process> _children = [];

    // A small demo world, many small shards, two in flight: the kill lands while shards are being scored and published.
    private static readonly string[] RunOptions = ["--run-id", RunId, "--shard-size", "120", "--max-parallel-shards", "2"];
    private static readonly string[] DemoOptions = ["demo", "--users", "2000", "--seed", "14", "--train-seconds", "0"];

    public async Task InitializeAsync()
    {
        try
        {
            await LocalDurableHost.EnsureStorageReachableAsync(AzuriteFixture.ConnectionString);
        }
        catch (InvalidOperationException ex)
        {
            throw new InvalidOperationException($"Integration tests need Azurite: run ./test.sh (it starts Azurite) or scripts/azurite.sh start. {ex.Message}", ex);
        }
        Directory.CreateDirectory(_output);
    }

    public async Task DisposeAsync()
    {
        foreach (var child in _children)
        {
            try
            {
                if (!child.HasExited)
                {
                    child.Kill();
                    await child.WaitForExitAsync();
                }
            }
            catch (InvalidOperationException)
            {
                // already gone
            }
            child.Dispose();
        }
        var service = new BlobServiceClient(AzuriteFixture.ConnectionString);
        foreach (var container in new[] { _baselineContainer, _killedContainer })
        {
            await service.GetBlobContainerClient(container).DeleteIfExistsAsync();
        }
        foreach (var hub in new[] { _baselineHub, _killedHub })
        {
            try
            {
                await LocalDurableHost.DeleteTaskHubAsync(new LocalDurableHostOptions { StorageConnectionString = AzuriteFixture.ConnectionString, TaskHubName = hub });
            }
            catch (Exception ex) when (ex is InvalidOperationException or Azure.RequestFailedException)
            {
                // best effort
            }
        }
        try
        {
            Directory.Delete(_output, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task Run_SigkilledAfterSomeShardsThenRestarted_PublishesTheUninterruptedCandidatesInBoundedTime()
    {
        // 1. Uninterrupted: generate the demo world and run it to the end.
        var baselineWatch = Stopwatch.StartNew();
        var baseline = Start([.. Storage(_baselineContainer, _baselineHub), .. DemoOptions, .. RunOptions]);
        var baselineCode = await WaitAsync(baseline, TimeSpan.FromMinutes(3));
        var baselineSeconds = baselineWatch.Elapsed.TotalSeconds;
        Assert.True(baselineCode == 0, $"baseline exited {baselineCode}:\n{baseline.Output}");
        var baselineStore = Store(_baselineContainer);
        var expected = await baselineStore.ReadJsonAsync<RunManifest>(BlobLayout.Manifest(RunId));
        Assert.Equal(RunStatus.Succeeded, expected.Status);
        Assert.True(expected.Shards.Count >= 8, $"only {expected.Shards.Count} shards: too few to kill the run between two of them");

        // 2. The same input and options in a fresh container and hub, SIGKILLed once at least two shards are published.
        var killedStore = Store(_killedContainer);
        var first = Start([.. Storage(_killedContainer, _killedHub), .. DemoOptions, .. RunOptions]);
        // Killed while a shard activity is in flight (started: its executions marker exists; not finished: no candidates),
        // so that the restart has a dequeued message of a dead worker to recover, not only shards nobody had started.
        int publishedAtKill;
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(3);
        while (true)
        {
            var (published, inFlight) = await ShardStatesAsync(killedStore);
            publishedAtKill = published;
            if (publishedAtKill >= 2 && inFlight > 0)
            {
                break;
            }
            Assert.False(first.Process.HasExited, $"the run exited before it could be killed:\n{first.Output}");
            Assert.True(DateTime.UtcNow < deadline, $"no two shards published within 3 minutes:\n{first.Output}");
            await Task.Delay(100);
        }
        first.Process.Kill(); // SIGKILL on Linux: no shutdown, leases and dequeued messages are left behind
        await first.Process.WaitForExitAsync();
        // The in-flight shard may still have finished in the milliseconds before the signal landed: count after the exit.
        var (_, cutShort) = await ShardStatesAsync(killedStore);
        Assert.True(publishedAtKill < expected.Shards.Count, $"all {publishedAtKill} shards were published before the kill");

        // 3. Restart with the same run id: it resumes (its original options apply) and must finish.
        var restartWatch = Stopwatch.StartNew();
        var second = Start([.. Storage(_killedContainer, _killedHub), "run", "--dataset", "demo", .. RunOptions]);
        var secondCode = await WaitAsync(second, TimeSpan.FromMinutes(6));
        var resumedSeconds = restartWatch.Elapsed.TotalSeconds;
        Assert.True(secondCode == 0, $"resumed run exited {secondCode}:\n{second.Output}");
        Assert.Contains("resuming it", second.Output, StringComparison.Ordinal);

        // 4. The same candidates, byte for byte, shard by shard; every dormant user exactly once.
        var manifest = await killedStore.ReadJsonAsync<RunManifest>(BlobLayout.Manifest(RunId));
        Assert.Equal(RunStatus.Succeeded, manifest.Status);
        Assert.Equal(expected.Shards.Select(s => (s.Shard, s.Users)), manifest.Shards.Select(s => (s.Shard, s.Users)));
        Assert.Equal(expected.Counts.Dormant, manifest.Counts.Dormant);
        Assert.Equal(manifest.Counts.Dormant, manifest.Counts.Published);
        Assert.Equal(manifest.Shards.Count, manifest.Counts.Shards);
        Assert.Equal(manifest.Shards.Count, manifest.Counts.ShardsSucceeded);
        Assert.Equal(0, manifest.Counts.ShardsFailed);
        var users = new List<string>();
        foreach (var shard in expected.Shards)
        {
            var path = BlobLayout.ShardCandidates(RunId, shard.Shard);
            var want = await ReadAllAsync(baselineStore, path);
            var got = await ReadAllAsync(killedStore, path);
            Assert.True(want.AsSpan().SequenceEqual(got), $"shard {shard.Shard}: candidates differ from the uninterrupted run ({want.Length} vs {got.Length} bytes)");
            var rows = 0;
            await foreach (var row in killedStore.ReadJsonLinesAsync<CandidateRow>(path))
            {
                users.Add(row.UserId);
                rows++;
            }
            Assert.Equal(shard.Users, rows);
        }
        Assert.Equal(manifest.Counts.Dormant, users.Count);
        Assert.Equal(users.Count, users.Distinct(StringComparer.Ordinal).Count());

        // 5. The interruption is on record: the shard activities the kill cut short ran again (executions > attempts), and
        // shards that waited for the restart longer than ShardBatchOrchestrator.InterruptionSeconds add up to the downtime.
        Assert.NotNull(manifest.Interruptions);
        var cut = manifest.Interruptions!;
        Assert.True(cut.Executions >= cut.Attempts, $"fewer activity starts than attempts: {cut}");
        if (cutShort > 0)
        {
            Assert.True(cut.Executions > cut.Attempts, $"{cutShort} shard activities were cut short by the kill, yet none ran twice: {cut}");
        }
        Assert.Equal(manifest.Timings.DowntimeSeconds, cut.DowntimeSeconds);
        Assert.Equal(cut.Shards == 0, cut.DowntimeSeconds == 0);

        log.WriteLine($"uninterrupted child {baselineSeconds:F1} s (run {expected.Timings.TotalSeconds:F1} s, {expected.Shards.Count} shards, {expected.Counts.Dormant} users); " +
            $"killed at {publishedAtKill} published shards with {cutShort} cut short; restart to completion {resumedSeconds:F1} s; recorded downtime {cut.DowntimeSeconds:F1} s over {cut.Shards} shards, " +
            $"{cut.Executions} executions for {cut.Attempts} attempts");
        log.WriteLine(second.Output);

        // 6. Recovery is bounded. A shard the killed worker had dequeued waits for its queue message's visibility timeout
        // (and the partition leases the dead process held to expire) before the new process can run it: each interrupted
        // shard's wait must stay well under a minute (it was 60 s with a 1-minute work-item visibility timeout, 5 minutes
        // with the backend's defaults)...
        if (cut.Shards > 0)
        {
            Assert.True(cut.DowntimeSeconds / cut.Shards < MaxWaitPerInterruptedShardSeconds,
                $"interrupted shards waited {cut.DowntimeSeconds / cut.Shards:F0} s each (at most {MaxWaitPerInterruptedShardSeconds} s): {cut}");
        }

        // ... and restart-to-completion stays within the allowance plus the whole uninterrupted child's time.
        Assert.True(resumedSeconds < RecoveryAllowanceSeconds + baselineSeconds,
            $"the resumed run took {resumedSeconds:F0} s; the uninterrupted one {baselineSeconds:F0} s (allowance {RecoveryAllowanceSeconds} s):\n{second.Output}");
    }

    private static string[] Storage(string container, string hub) =>
        ["--storage", AzuriteFixture.ConnectionString, "--container", container, "--task-hub", hub];

    private static AzureBlobStore Store(string container) =>
        new(new BlobServiceClient(AzuriteFixture.ConnectionString).GetBlobContainerClient(container));

    /// <summary>Shards whose candidates are published, and shards started (executions marker) but not published.</summary>
    private static async Task<(int Published, int InFlight)> ShardStatesAsync(AzureBlobStore store)
    {
        var published = new HashSet<string>(StringComparer.Ordinal);
        var started = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            await foreach (var blob in store.ListAsync(BlobLayout.ShardsPrefix(RunId)))
            {
                var folder = blob.Path[..(blob.Path.LastIndexOf('/') + 1)];
                if (blob.Path.EndsWith("/" + BlobLayout.CandidatesFile, StringComparison.Ordinal))
                {
                    published.Add(folder);
                }
                else if (blob.Path.EndsWith("/" + ExecutionsFile, StringComparison.Ordinal))
                {
                    started.Add(folder);
                }
            }
        }
        catch (Azure.RequestFailedException ex) when (ex.Status == 404)
        {
            // the container is created by the child
        }
        return (published.Count, started.Count(f => !published.Contains(f)));
    }

    private static readonly string ExecutionsFile = BlobLayout.ShardExecutions(RunId, 0)[(BlobLayout.ShardExecutions(RunId, 0).LastIndexOf('/') + 1)..];

    private static async Task<byte[]> ReadAllAsync(AzureBlobStore store, string path)
    {
        await using var stream = await store.OpenReadAsync(path);
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer);
        return buffer.ToArray();
    }

    private Child Start(string[] args)
    {
        var cli = Path.Combine(AppContext.BaseDirectory, "rolegen.dll");
        Assert.True(File.Exists(cli), $"{cli} is missing (the Cli project reference copies it here)");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(cli);
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }
        info.Environment["ROLEGEN_OUTPUT"] = _output;
        info.Environment["OMP_WAIT_POLICY"] = "PASSIVE";
        var process = new Process { StartInfo = info };
        var child = new Child(process);
        process.OutputDataReceived += (_, e) => child.Append(e.Data);
        process.ErrorDataReceived += (_, e) => child.Append(e.Data);
        Assert.True(process.Start());
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _children.Add(process);
        return child;
    }

    private static async Task<int> WaitAsync(Child child, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await child.Process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            child.Process.Kill();
            Assert.Fail($"rolegen did not finish within {timeout}:\n{child.Output}");
        }
        child.Process.WaitForExit(); // drains the redirected output
        return child.Process.ExitCode;
    }

    private sealed class Child(Process process)
    {
        private readonly StringBuilder _output = new();

        public Process Process { get; } = process;

        public string Output
        {
            get
            {
                lock (_output)
                {
                    return _output.ToString();
                }
            }
        }

        public void Append(string? line)
        {
            if (line is null)
            {
                return;
            }
            lock (_output)
            {
                _output.AppendLine(line);
            }
        }
    }
}
