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
}
