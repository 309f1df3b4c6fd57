using System.CommandLine;
using RoleGen.Core.Cohort;
using RoleGen.Core.Ingest;
using RoleGen.Core.Runs;

namespace RoleGen.Cli;

/// <summary>The command tree of <c>rolegen</c>. Handlers: <see cref="RunCommand"/>, <see cref="DemoCommand"/>, <see cref="StatusCommand"/>, <see cref="TrainCommand"/>, <see cref="EvaluationCommands"/>, <see cref="PromptsCommand"/>.</summary>
public static class Commands
{
    private static readonly DormancyPolicy DefaultPolicy = new();

    public static readonly Option<string> Storage = new("--storage")
    {
        Description = "Azure Storage connection string (default: $ROLEGEN_STORAGE, else Azurite 'UseDevelopmentStorage=true').",
        Recursive = true,
    };

    public static readonly Option<string> Container = new("--container")
    {
        Description = "Blob container.",
        Recursive = true,
        DefaultValueFactory = _ => "rolegen",
    };

    public static readonly Option<string> TaskHub = new("--task-hub")
    {
        Description = "Durable task hub name.",
        Recursive = true,
        DefaultValueFactory = _ => "rolegen",
    };

    public static readonly Option<bool> InMemory = new("--in-memory-durable")
    {
        Description = "Keep orchestration state in memory instead of Azure Storage (faster; a killed run cannot resume).",
        Recursive = true,
    };

    public static readonly Option<bool> Verbose = new("--verbose", "-v") { Description = "Log activity details.", Recursive = true };

    // run / ingest
    public static readonly Option<FileInfo> Events = new("--events")
    {
        Description = "Behaviour log file to ingest first (a file, not a folder); needs --format. Without --events, --dataset names an already ingested dataset.",
    };
    public static readonly Option<string> Format = new("--format")
    {
        Description = "Format of --events (required with it): taobao = Taobao UserBehavior CSV, no header, pv|fav|cart|buy; " +
                      $"normalized = CSV with the header {EventReader.NormalizedHeader}, view|fav|cart|purchase; otto = OTTO JSONL sessions; " +
                      "sasrec = one line per user 'user item item ...'.",
    };
    public static readonly Option<string> Dataset = new("--dataset")
    {
        Description = "Dataset name (blob prefix events/{dataset}/; lowercase letters, digits, '-'). With --events: the name to ingest under (default: from the file name); without: required, an ingested dataset.",
    };
    public static readonly Option<int> ShardSize = new("--shard-size") { Description = "Target users per shard.", DefaultValueFactory = _ => RunDefaults.ShardSize };
    public static readonly Option<int> ShardCount = new("--shard-count") { Description = "Pin the number of shards (0 = derive from --shard-size)." };
    public static readonly Option<int> TopK = new("--top-k") { Description = "Recommendations per user.", DefaultValueFactory = _ => RunDefaults.TopK };
    public static readonly Option<int> Nights = new("--nights")
    {
        Description = "Demo: run N nights of the closed loop (run → simulated outcomes → feedback → reflection → next run) and print the treatment-vs-control lift per night (0 = one plain run).",
    };
    public static readonly Option<bool> NoReflection = new("--no-reflection") { Description = "Demo --nights: collect feedback but never reflect (the ablation that shows what reflection adds)." };
    public static readonly Option<string> Experiment = new("--experiment") { Description = "A/B experiment name (arm hash and feedback/{experiment}/; default rolegen-ab, or a fresh name per demo --nights)." };
    public static readonly Option<double> TreatmentShare = new("--treatment-share") { Description = "Share of users in the treatment arm (RoleGen); the rest get the model alone.", DefaultValueFactory = _ => RunDefaults.TreatmentShare };
    public static readonly Option<bool> NoReasoner = new("--no-reasoner") { Description = "Score with the model alone (no Conversion Trajectory Reasoner, no fusion)." };
    public static readonly Option<long?> LlmTokens = new("--llm-tokens")
    {
        Description = "The run's LLM token budget across all shards and retries (with the LLM reasoner configured); default: none (each shard attempt has RoleGen:Reasoner:Llm:MaxTokensPerRun).",
    };
    public static readonly Option<int> Interventions = new("--interventions")
    {
        Description = "Role-diverse interventions do(show x) evaluated per user with the world model and kept as conversion paths (0-32; each costs one conversion-head pass).",
        DefaultValueFactory = _ => RunDefaults.Interventions,
    };
    public static readonly Option<string> RunId = new("--run-id") { Description = "Run id (default: {dataset}-{UTC time}). Re-using the id of an unfinished run resumes it." };
    public static readonly Option<int> Parallel = new("--max-parallel-shards") { Description = "Shard sub-orchestrations in flight.", DefaultValueFactory = _ => RunDefaults.MaxParallelShards };
    public static readonly Option<int> Lookback = new("--lookback-days") { Description = "Dormancy look-back window in days.", DefaultValueFactory = _ => DefaultPolicy.LookbackDays };
    public static readonly Option<int> MinViews = new("--min-views") { Description = "Dormancy: minimum views in the window.", DefaultValueFactory = _ => DefaultPolicy.MinViews };
    public static readonly Option<double> MaxConversion = new("--max-conversion-rate") { Description = "Dormancy: maximum purchases/views.", DefaultValueFactory = _ => DefaultPolicy.MaxConversionRate };
    public static readonly Option<int> MinActiveDays = new("--min-active-days") { Description = "Dormancy: minimum distinct active days (0 = off)." };
    public static readonly Option<LocalCopyMode> LocalCopy = new("--local-copy")
    {
        Description = "What to copy to .rolegen/runs/{runId}/ when the run ends: auto (report + shards up to 100,000 published users, the report alone beyond), full, report, none.",
        DefaultValueFactory = _ => LocalCopyMode.Auto,
    };
    public static readonly Option<bool> Rerun = new("--rerun") { Description = "If the run id already finished, delete its history and run it again." };

    // demo
    public static readonly Option<int> Users = new("--users") { Description = "Users in the generated demo world.", DefaultValueFactory = _ => 20_000 };
    public static readonly Option<int> Seed = new("--seed") { Description = "Seed of the demo world.", DefaultValueFactory = _ => 42 };
    public static readonly Option<int> TrainSeconds = new("--train-seconds")
    {
        Description = "Train the backbone on the demo world for about this many seconds (checked between epochs) before the run, unless a backbone for the dataset is already published. 0 = do not train (a backbone already published for the dataset is still used; otherwise the baseline).",
        DefaultValueFactory = _ => 60,
    };

    public static readonly Argument<string> RunIdArgument = new("runId") { Description = "The run id printed by 'rolegen run' or 'rolegen demo'." };

    public static RootCommand Build()
    {
        var root = new RootCommand(
            "rolegen — wakes up dormant e-commerce users: selects the dormant cohort from behaviour logs, scores it shard by shard " +
            "in durable orchestrations, and publishes per-user candidates to blob storage. Runs locally on Azurite.\n\n" + ExitCodes.Help)
        {
            Storage, Container, TaskHub, InMemory, Verbose,
        };

        var demo = new Command("demo", "Generate the seeded demo world, run a nightly run on it end to end and print the summary.")
        {
            Users, Seed, Dataset, ShardSize, ShardCount, TopK, NoReasoner, Interventions, LlmTokens, Nights, NoReflection, Experiment, TreatmentShare, RunId, Parallel, TrainSeconds, LocalCopy,
        };
        demo.SetAction(DemoCommand.DemoAsync);

        var ingest = new Command("ingest", "Stream a behaviour log into events/{dataset}/ (malformed rows to events/{dataset}/_quarantine.jsonl).")
        {
            Events, Format, Dataset,
        };
        Events.Required = false;
        ingest.SetAction(RunCommand.IngestAsync);

        var run = new Command("run", "Run a nightly run on --events <file> --format F, or on an ingested --dataset: select, score, publish.")
        {
            Events, Format, Dataset, ShardSize, ShardCount, TopK, NoReasoner, Interventions, LlmTokens, Experiment, TreatmentShare, RunId, Parallel, Lookback, MinViews, MaxConversion, MinActiveDays, Rerun, LocalCopy,
        };
        run.SetAction(RunCommand.RunAsync);

        var status = new Command("status", "Show a run's status and progress (and its summary once finished).") { RunIdArgument };
        status.SetAction(StatusCommand.StatusAsync);

        root.Subcommands.Add(demo);
        root.Subcommands.Add(ingest);
        root.Subcommands.Add(run);
        root.Subcommands.Add(status);
        foreach (var command in ResultsCommands.Build())
        {
            root.Subcommands.Add(command);
        }
        root.Subcommands.Add(TrainCommand.Build());
        foreach (var command in EvaluationCommands.Build())
        {
            root.Subcommands.Add(command);
        }
        root.Subcommands.Add(EvalSuiteCommand.Build());
        root.Subcommands.Add(PromptsCommand.Build());
        return root;
    }
}
