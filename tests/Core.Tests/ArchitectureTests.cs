using System.Reflection;
using System.Text.RegularExpressions;
using RoleGen.Core.Ingest;
using RoleGen.Orchestrations;

namespace RoleGen.Core.Tests;

/// <summary>Dependency rules: the domain (RoleGen.Core) knows nothing of Azure, Durable Task, Functions, ONNX, Torch or
/// ASP.NET Core; the orchestrations know Durable Task's abstractions and the domain only.</summary>
public class ArchitectureTests
{
    public static readonly string[] CoreForbidden =
    [
        "Azure.*",
        "Microsoft.Azure.*",
        "Microsoft.DurableTask.*",
        "DurableTask.*",
        "Microsoft.ML.OnnxRuntime*",
        "TorchSharp*",
        "Microsoft.AspNetCore.*",
    ];

    // Microsoft.DurableTask.Abstractions (and the DurableTask.Core it brings) are allowed here.
    public static readonly string[] OrchestrationsForbidden =
    [
        "Azure.*",
        "Microsoft.Azure.Functions.*",
        "*OnnxRuntime*",
        "TorchSharp*",
        "Microsoft.AspNetCore.*",
        "RoleGen.Infrastructure",
        "RoleGen.Functions",
        "RoleGen.Cli",
    ];

    /// <summary>Every assembly name referenced by <paramref name="root"/> and, transitively, by the RoleGen.* assemblies it
    /// references (third-party assemblies are leaves: their own dependencies are not ours to rule).</summary>
    public static IReadOnlyList<(string Referrer, string Reference)> References(Assembly root)
    {
        var result = new List<(string, string)>();
        var visited = new HashSet<string>(StringComparer.Ordinal);
        var queue = new Queue<Assembly>([root]);
        while (queue.Count > 0)
        {
            var assembly = queue.Dequeue();
            var name = assembly.GetName().Name!;
            if (!visited.Add(name))
            {
                continue;
            }
            foreach (var reference in assembly.GetReferencedAssemblies())
            {
                result.Add((name, reference.Name!));
                if (reference.Name!.StartsWith("RoleGen.", StringComparison.Ordinal) && !visited.Contains(reference.Name))
                {
                    queue.Enqueue(Assembly.Load(reference));
                }
            }
        }
        return result;
    }

    /// <summary>The references matching any forbidden pattern ('*' matches any run of characters; "X.*" also matches "X").</summary>
    public static IReadOnlyList<string> Violations(IEnumerable<(string Referrer, string Reference)> references, IEnumerable<string> forbidden)
    {
        var patterns = forbidden.Select(ToRegex).ToArray();
        return references
            .Where(r => patterns.Any(p => p.IsMatch(r.Reference)))
            .Select(r => $"{r.Referrer} → {r.Reference}")
            .Distinct(StringComparer.Ordinal)
            .ToList();

        static Regex ToRegex(string pattern)
        {
            var body = Regex.Escape(pattern).Replace("\\*", ".*", StringComparison.Ordinal);
            if (pattern.EndsWith(".*", StringComparison.Ordinal))
            {
                body = $"{Regex.Escape(pattern[..^2])}(\\..*)?";
            }
            return new Regex($"^{body}$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        }
    }

    [Fact]
    public void Core_References_NoInfrastructureFrameworks()
    {
        var references = References(typeof(EventReader).Assembly);

        Assert.Contains(references, r => r.Reference == "System.Runtime");
        Assert.Empty(Violations(references, CoreForbidden));
    }

    [Fact]
    public void Orchestrations_References_OnlyDurableAbstractionsAndCore()
    {
        var references = References(typeof(RoleGenTasks).Assembly);

        // The walk reaches Core through Orchestrations, and sees the allowed Durable Task abstractions.
        Assert.Contains(references, r => r.Referrer == "RoleGen.Orchestrations" && r.Reference == "RoleGen.Core");
        Assert.Contains(references, r => r.Referrer == "RoleGen.Core");
        Assert.Contains(references, r => r.Reference == "Microsoft.DurableTask.Abstractions");
        Assert.Empty(Violations(references, OrchestrationsForbidden));
        // Core's own rules hold for everything Orchestrations pulls in through Core.
        Assert.Empty(Violations(references.Where(r => r.Referrer == "RoleGen.Core"), CoreForbidden));
    }

    [Fact]
    public void Violations_FakeForbiddenReferences_AreAllCaught()
    {
        var fake = new (string, string)[]
        {
            ("RoleGen.Core", "System.Runtime"),
            ("RoleGen.Core", "Azure.Storage.Blobs"),
            ("RoleGen.Core", "Azure"),
            ("RoleGen.Core", "Microsoft.Azure.Functions.Worker"),
            ("RoleGen.Core", "Microsoft.DurableTask.Abstractions"),
            ("RoleGen.Core", "DurableTask.Core"),
            ("RoleGen.Core", "Microsoft.ML.OnnxRuntime"),
            ("RoleGen.Core", "Microsoft.ML.OnnxRuntime.Gpu"),
            ("RoleGen.Core", "TorchSharp"),
            ("RoleGen.Core", "Microsoft.AspNetCore.Http"),
            ("RoleGen.Core", "Microsoft.Extensions.Logging.Abstractions"),
            ("RoleGen.Core", "AzureLike.Package"),
        };

        var violations = Violations(fake, CoreForbidden);

        Assert.Equal(
            [
                "RoleGen.Core → Azure.Storage.Blobs",
                "RoleGen.Core → Azure",
                "RoleGen.Core → Microsoft.Azure.Functions.Worker",
                "RoleGen.Core → Microsoft.DurableTask.Abstractions",
                "RoleGen.Core → DurableTask.Core",
                "RoleGen.Core → Microsoft.ML.OnnxRuntime",
                "RoleGen.Core → Microsoft.ML.OnnxRuntime.Gpu",
                "RoleGen.Core → TorchSharp",
                "RoleGen.Core → Microsoft.AspNetCore.Http",
            ],
            violations);
    }

    [Fact]
    public void Violations_OrchestrationsRules_AllowDurableAbstractionsButCatchInfrastructure()
    {
        var fake = new (string, string)[]
        {
            ("RoleGen.Orchestrations", "Microsoft.DurableTask.Abstractions"),
            ("RoleGen.Orchestrations", "DurableTask.Core"),
            ("RoleGen.Orchestrations", "RoleGen.Core"),
            ("RoleGen.Orchestrations", "RoleGen.Infrastructure"),
            ("RoleGen.Orchestrations", "Microsoft.Azure.Functions.Worker.Extensions.DurableTask"),
            ("RoleGen.Orchestrations", "Azure.Storage.Blobs"),
            ("RoleGen.Orchestrations", "Microsoft.ML.OnnxRuntime"),
        };

        var violations = Violations(fake, OrchestrationsForbidden);

        Assert.Equal(
            [
                "RoleGen.Orchestrations → RoleGen.Infrastructure",
                "RoleGen.Orchestrations → Microsoft.Azure.Functions.Worker.Extensions.DurableTask",
                "RoleGen.Orchestrations → Azure.Storage.Blobs",
                "RoleGen.Orchestrations → Microsoft.ML.OnnxRuntime",
            ],
            violations);
    }

    [Fact]
    public void References_WalkIntoRoleGenAssembliesOnly()
    {
        var references = References(typeof(RoleGenTasks).Assembly);

        var referrers = references.Select(r => r.Referrer).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);

        Assert.Equal(["RoleGen.Core", "RoleGen.Orchestrations"], referrers);
    }

    /// <summary>The rule of every src project, applied to its built assembly and the RoleGen assemblies it reaches.</summary>
    public static readonly IReadOnlyDictionary<string, string[]> SolutionRules = new Dictionary<string, string[]>(StringComparer.Ordinal)
    {
        ["Core"] = CoreForbidden,
        ["Orchestrations"] = OrchestrationsForbidden,
        // Adapters behind Core's ports: no orchestration, durable runtime, host or training code.
        ["Infrastructure"] = ["RoleGen.Orchestrations", "RoleGen.LocalHost", "RoleGen.Functions", "RoleGen.Cli", "RoleGen.Training", "RoleGen.Evaluation",
            "Microsoft.DurableTask.*", "DurableTask.*", "Microsoft.Azure.DurableTask.*", "TorchSharp*", "Microsoft.AspNetCore.*", "Microsoft.Azure.Functions.*"],
        // The embedded durable host knows no RoleGen code: the tasks are registered by its caller.
        ["LocalHost"] = ["RoleGen.*", "*OnnxRuntime*", "TorchSharp*", "Microsoft.Azure.Functions.*", "Azure.AI.*"],
        // The Functions app never ships the local host, the in-process test host or its Kestrel sidecar, nor training/eval code.
        ["Functions"] = ["RoleGen.LocalHost", "RoleGen.Cli", "RoleGen.Training", "RoleGen.Evaluation", "Microsoft.DurableTask.InProcessTestHost*",
            "Microsoft.DurableTask.Testing*", "DurableTask.AzureStorage", "Microsoft.Azure.DurableTask.AzureStorage", "Grpc.AspNetCore*", "TorchSharp*"],
        ["Training"] = ["RoleGen.Infrastructure", "RoleGen.Orchestrations", "RoleGen.LocalHost", "RoleGen.Functions", "RoleGen.Cli", "RoleGen.Evaluation",
            "Azure.*", "Microsoft.DurableTask.*", "Microsoft.Azure.Functions.*"],
        // Evaluation is a library of the CLI and the tests: no durable host, no Functions, no CLI.
        ["Evaluation"] = ["RoleGen.LocalHost", "RoleGen.Functions", "RoleGen.Cli", "RoleGen.Orchestrations", "Microsoft.DurableTask.*", "Microsoft.Azure.Functions.*"],
        // The composition root of the local tools: everything but the Functions app.
        ["Cli"] = ["RoleGen.Functions", "Microsoft.Azure.Functions.*"],
    };

    /// <summary>The assembly name of a src project (the CLI ships as <c>rolegen</c>).</summary>
    private static string AssemblyNameOf(string project) => project == "Cli" ? "rolegen" : $"RoleGen.{project}";

    /// <summary>The built assembly of a src project (the tests run after the solution build, in the same configuration).</summary>
    private static string BuiltAssembly(string project)
    {
        var configuration = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name; // bin/{Configuration}/net10.0/
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "RoleGen.sln")))
            {
                var path = Path.Combine(dir.FullName, "src", project, "bin", configuration, "net10.0", $"{AssemblyNameOf(project)}.dll");
                Assert.True(File.Exists(path), $"{path} is missing: build the solution first (dotnet build RoleGen.sln -c {configuration}).");
                return path;
            }
        }
        throw new InvalidOperationException("RoleGen.sln not found above the test directory.");
    }

    /// <summary>The references of a built assembly and of the RoleGen assemblies next to it, read from metadata (nothing is loaded).</summary>
    public static IReadOnlyList<(string Referrer, string Reference)> ReferencesOnDisk(string assemblyPath)
    {
        var folder = Path.GetDirectoryName(assemblyPath)!;
        var result = new List<(string, string)>();
        var visited = new HashSet<string>(StringComparer.Ordinal);
        var queue = new Queue<string>([assemblyPath]);
        while (queue.Count > 0)
        {
            var path = queue.Dequeue();
            using var stream = File.OpenRead(path);
            using var pe = new System.Reflection.PortableExecutable.PEReader(stream);
            var md = System.Reflection.Metadata.PEReaderExtensions.GetMetadataReader(pe);
            var name = md.GetString(md.GetAssemblyDefinition().Name);
            if (!visited.Add(name))
            {
                continue;
            }
            foreach (var handle in md.AssemblyReferences)
            {
                var reference = md.GetString(md.GetAssemblyReference(handle).Name);
                result.Add((name, reference));
                var next = Path.Combine(folder, reference + ".dll");
                if (reference.StartsWith("RoleGen.", StringComparison.Ordinal) && File.Exists(next))
                {
                    queue.Enqueue(next);
                }
            }
        }
        return result;
    }

    [Fact]
    public void Every_src_project_has_a_rule()
    {
        string? root = null;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null && root is null; dir = dir.Parent)
        {
            root = File.Exists(Path.Combine(dir.FullName, "RoleGen.sln")) ? dir.FullName : null;
        }
        var projects = Directory.GetDirectories(Path.Combine(root!, "src")).Where(d => Directory.GetFiles(d, "*.csproj").Length > 0)
            .Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(projects, SolutionRules.Keys.Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("Core")]
    [InlineData("Orchestrations")]
    [InlineData("Infrastructure")]
    [InlineData("LocalHost")]
    [InlineData("Functions")]
    [InlineData("Training")]
    [InlineData("Evaluation")]
    [InlineData("Cli")]
    public void Built_project_references_nothing_its_rule_forbids(string project)
    {
        var references = ReferencesOnDisk(BuiltAssembly(project));

        var self = AssemblyNameOf(project);
        Assert.Contains(references, r => r.Referrer == self);
        Assert.Empty(Violations(references.Where(r => r.Referrer == self), SolutionRules[project]));
        // What a project reaches through its RoleGen references obeys those projects' own rules.
        foreach (var (referrer, _) in references.Where(r => r.Referrer != self).DistinctBy(r => r.Referrer))
        {
            var other = referrer["RoleGen.".Length..];
            Assert.Empty(Violations(references.Where(r => r.Referrer == referrer), SolutionRules[other]));
        }
    }

    [Fact]
    public void Functions_output_ships_no_local_durable_host()
    {
        var folder = Path.GetDirectoryName(BuiltAssembly("Functions"))!;
        string[] forbidden = ["RoleGen.LocalHost.dll", "Microsoft.DurableTask.InProcessTestHost.dll", "DurableTask.AzureStorage.dll", "RoleGen.Training.dll", "TorchSharp.dll"];
        Assert.DoesNotContain(forbidden, f => File.Exists(Path.Combine(folder, f)));
    }
}
