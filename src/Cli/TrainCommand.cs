using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using RoleGen.Core.Ingest;
using RoleGen.Core.Scoring;
using RoleGen.Core.Storage;
using RoleGen.Training.Data;
using RoleGen.Training;

namespace RoleGen.Cli;

/// <summary>`rolegen train`: trains the generative backbone on behaviour events, exports it to ONNX and publishes it as
/// <c>models/backbone/{version}/</c>, then moves <c>models/backbone/current</c> to it.</summary>
public static class TrainCommand
{
    public static readonly Option<int> Epochs = new("--epochs") { Description = "Maximum epochs (early stopping on validation ends sooner).", DefaultValueFactory = _ => 200 };
    public static readonly Option<int> Budget = new("--budget-seconds") { Description = "Stop training after this many seconds (0 = no limit); the best validated epoch is kept." };
    public static readonly Option<string> Version = new("--version") { Description = "Version name (default: {dataset}-{UTC time})." };
    public static readonly Option<string> Out = new("--out") { Description = "Local folder for the artefacts (default: .rolegen/models/{version})." };
    public static readonly Option<bool> NoPublish = new("--no-publish") { Description = "Only write the local folder; do not upload or move models/backbone/current." };
    public static readonly Option<long> TrainSeed = new("--seed") { Description = "Training seed.", DefaultValueFactory = _ => 42 };

    public static Command Build()
    {
        var train = new Command("train",
            "Train the backbone (TorchSharp), export it to ONNX, publish it to models/backbone/ (OMP_WAIT_POLICY=PASSIVE).")
        {
            Commands.Events, Commands.Format, Commands.Dataset, Epochs, Budget, Version, Out, NoPublish, TrainSeed,
        };
        train.SetAction(RunAsync);
        return train;
    }

    public static async Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        try
        {
            var settings = CliCommon.Settings(parse);
            var file = parse.GetValue(Commands.Events);
            var datasetText = parse.GetValue(Commands.Dataset);
            EventFormat format = EventFormat.Normalized;
            if (file is not null)
            {
                if (!file.Exists)
                {
                    throw new CliException(ExitCodes.BadInput, $"Events file '{file.FullName}' does not exist.");
                }
                if (!EventFormats.TryParse(parse.GetValue(Commands.Format), out format))
                {
                    throw new CliException(ExitCodes.Usage, $"--format is required with --events ({EventFormats.Names}).");
                }
            }
            else if (string.IsNullOrWhiteSpace(datasetText))
            {
                throw new CliException(ExitCodes.Usage, "Pass --events <file> --format <format>, or --dataset <name> of an ingested dataset.");
            }
            var dataset = EventStore.ValidateDataset(string.IsNullOrWhiteSpace(datasetText) ? EventStore.DatasetFromFileName(file!.FullName) : datasetText);
            var version = parse.GetValue(Version);
            if (string.IsNullOrWhiteSpace(version))
            {
                version = $"{dataset}-{DateTime.UtcNow.ToString("yyyyMMdd-HHmmss", CultureInfo.InvariantCulture)}";
            }
            Core.Storage.BlobNames.ValidateSegment(version, "--version");
            var outDir = parse.GetValue(Out) is { Length: > 0 } o ? o : Path.Combine(".rolegen", "models", version);
            var publish = !parse.GetValue(NoPublish);
            var budget = parse.GetValue(Budget);
            var options = new TrainingOptions
            {
                Epochs = parse.GetValue(Epochs),
                Seed = parse.GetValue(TrainSeed),
                TimeBudget = budget > 0 ? TimeSpan.FromSeconds(budget) : null,
                EvaluateTest = false,
                Log = line => Console.WriteLine($"  {line}"),
            };
            await using var host = publish || file is null ? await CliHost.StartAsync(settings, durable: false, cancellationToken).ConfigureAwait(false) : null;
            var (artifacts, stats) = await TrainAsync(host?.Store, file, format, dataset, options, outDir, cancellationToken).ConfigureAwait(false);
            Console.WriteLine($"Trained backbone {version}: {stats.UsersKept:N0} users, {stats.ItemsKept:N0} items, {stats.EventsUsed:N0} events; " +
                              $"best epoch {artifacts.Metrics.BestEpoch} (validation Recall@10 {artifacts.Metrics.BestValidation?.Recall:F4}, NDCG@10 {artifacts.Metrics.BestValidation?.Ndcg:F4}); " +
                              $"{artifacts.Metrics.TotalSeconds:F0} s, {artifacts.Metrics.MeanTrainSecondsPerEpoch:F1} s/epoch → {Path.GetFullPath(outDir)}");
            if (publish)
            {
                await BackbonePublisher.PublishAsync(host!.Store, outDir, version, dataset, cancellationToken).ConfigureAwait(false);
                Console.WriteLine($"Published {host.Store.Describe(BlobLayout.BackboneFolder(version))} and moved {BlobLayout.BackboneCurrent} to it: runs on '{dataset}' now score with it.");
            }
            return ExitCodes.Ok;
        }
        catch (CliException ex)
        {
            Console.Error.WriteLine($"rolegen: {ex.Message}");
            return ex.ExitCode;
        }
        catch (ArgumentException ex)
        {
            Console.Error.WriteLine($"rolegen: {ex.Message}");
            return ExitCodes.BadInput;
        }
        catch (PermanentFailureException ex)
        {
            Console.Error.WriteLine($"rolegen: {ex.Message}");
            return ExitCodes.BadInput;
        }
    }

    /// <summary>Builds the corpus (file or ingested dataset) and trains + exports into <paramref name="outDir"/>.</summary>
    public static async Task<(TrainingArtifacts Artifacts, EventCorpusStats Stats)> TrainAsync(IBlobStore? store, FileInfo? file, EventFormat format,
        string dataset, TrainingOptions options, string outDir, CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        SequenceCorpus corpus;
        EventCorpusStats stats;
        if (file is not null)
        {
            await using var stream = file.OpenRead();
            corpus = SequenceCorpus.FromEventStream(stream, format, null, out stats);
        }
        else
        {
            corpus = SequenceCorpus.FromEvents(EventStore.ReadAllAsync(store!, dataset, cancellationToken).ToBlockingEnumerable(cancellationToken), null, out stats);
        }
        if (stats.UsersKept == 0)
        {
            throw new CliException(ExitCodes.BadInput, $"No user of '{dataset}' has the 2+ events training needs ({stats.EventsRead:N0} events read, {stats.RowsQuarantined:N0} rows quarantined).");
        }
        Console.WriteLine($"Training the backbone on {stats.UsersKept:N0} users / {stats.ItemsKept:N0} items (corpus built in {watch.Elapsed.TotalSeconds:F1} s)...");
        var artifacts = await Task.Run(() => BackboneExport.TrainAndExport(corpus, options, outDir, cancellationToken), cancellationToken).ConfigureAwait(false);
        return (artifacts, stats);
    }
}
