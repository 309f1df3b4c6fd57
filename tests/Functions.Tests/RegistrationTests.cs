using System.Reflection;
using System.Text.Json;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using RoleGen.Orchestrations;

namespace RoleGen.Functions.Tests;

/// <summary>Proves the Functions app exposes every orchestrator and activity of <see cref="RoleGenTasks"/> under its class
/// name (the task name the orchestrators call), with the input and output types the class declares.</summary>
public sealed class RegistrationTests
{
    private static readonly Assembly FunctionsAssembly = typeof(Composition.FunctionsServiceCollectionExtensions).Assembly;

    private static readonly string[] OrchestratorNames = RoleGenTasks.Orchestrators.Select(t => t.Name).Order(StringComparer.Ordinal).ToArray();

    private static readonly string[] ActivityNames = RoleGenTasks.Activities.Select(t => t.Name).Order(StringComparer.Ordinal).ToArray();

    /// <summary>The function metadata the worker reports to the Functions host (worker indexing): what the host can invoke.</summary>
    private static async Task<List<(string Name, string[] BindingTypes)>> WorkerMetadataAsync()
    {
        var providerType = FunctionsAssembly.GetType("RoleGen.Functions.GeneratedFunctionMetadataProvider", throwOnError: true)!;
        var provider = (Microsoft.Azure.Functions.Worker.Core.FunctionMetadata.IFunctionMetadataProvider)Activator.CreateInstance(providerType)!;
        var metadata = await provider.GetFunctionMetadataAsync(AppContext.BaseDirectory);
        return metadata.Select(m => (m.Name!, m.RawBindings!.Select(b => JsonDocument.Parse(b).RootElement.GetProperty("type").GetString()!).ToArray()))
            .ToList();
    }

    [Fact]
    public async Task WorkerMetadata_EveryOrchestrator_IsAnOrchestrationTriggerFunction()
    {
        var functions = await WorkerMetadataAsync();
        var orchestrators = functions.Where(f => f.BindingTypes.Contains("orchestrationTrigger")).Select(f => f.Name).Order(StringComparer.Ordinal);
        Assert.Equal(OrchestratorNames, orchestrators);
    }

    [Fact]
    public async Task WorkerMetadata_EveryActivity_IsAnActivityTriggerFunction()
    {
        var functions = await WorkerMetadataAsync();
        var activities = functions.Where(f => f.BindingTypes.Contains("activityTrigger")).Select(f => f.Name).Order(StringComparer.Ordinal);
        Assert.Equal(ActivityNames, activities);
    }

    [Fact]
    public async Task WorkerMetadata_FunctionNames_AreUnique()
    {
        var names = (await WorkerMetadataAsync()).Select(f => f.Name).ToList();
        Assert.Equal(names.Count, names.Distinct(StringComparer.OrdinalIgnoreCase).Count());
        Assert.Contains("NightlyRunTimer", names);
        Assert.Contains("StartRun", names);
    }

    private static IEnumerable<(string Name, MethodInfo Method)> FunctionsWith<TTrigger>()
        where TTrigger : Attribute
        => FunctionsAssembly.GetTypes()
            .SelectMany(t => t.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly))
            .Where(m => m.GetCustomAttribute<FunctionAttribute>() is not null && m.GetParameters().Any(p => p.GetCustomAttribute<TTrigger>() is not null))
            .Select(m => (m.GetCustomAttribute<FunctionAttribute>()!.Name, m));

    private static Type[] GenericArguments(Type type, Type openBase)
    {
        for (var t = type; t is not null; t = t.BaseType)
        {
            if (t.IsGenericType && t.GetGenericTypeDefinition() == openBase)
            {
                return t.GetGenericArguments();
            }
        }
        throw new InvalidOperationException($"{type.Name} does not derive from {openBase.Name}.");
    }

    [Fact]
    public void ActivityShims_TakeAndReturnTheActivityTypes()
    {
        var shims = FunctionsWith<ActivityTriggerAttribute>().ToDictionary(f => f.Name, f => f.Method);
        Assert.Equal(ActivityNames, shims.Keys.Order(StringComparer.Ordinal));
        foreach (var activity in RoleGenTasks.Activities)
        {
            var types = GenericArguments(activity, typeof(TaskActivity<,>));
            var method = shims[activity.Name];
            var trigger = method.GetParameters().Single(p => p.GetCustomAttribute<ActivityTriggerAttribute>() is not null);
            Assert.True(types[0] == trigger.ParameterType, $"{activity.Name}: shim input {trigger.ParameterType.Name}, activity input {types[0].Name}");
            Assert.True(typeof(Task<>).MakeGenericType(types[1]) == method.ReturnType,
                $"{activity.Name}: shim returns {method.ReturnType}, activity returns {types[1].Name}");
        }
    }

    [Fact]
    public void OrchestratorShims_ReturnTheOrchestratorOutputType()
    {
        var shims = FunctionsWith<OrchestrationTriggerAttribute>().ToDictionary(f => f.Name, f => f.Method);
        Assert.Equal(OrchestratorNames, shims.Keys.Order(StringComparer.Ordinal));
        foreach (var orchestrator in RoleGenTasks.Orchestrators)
        {
            var types = GenericArguments(orchestrator, typeof(TaskOrchestrator<,>));
            var method = shims[orchestrator.Name];
            Assert.Equal(typeof(TaskOrchestrationContext), method.GetParameters().Single().ParameterType);
            Assert.True(typeof(Task<>).MakeGenericType(types[1]) == method.ReturnType,
                $"{orchestrator.Name}: shim returns {method.ReturnType}, orchestrator returns {types[1].Name}");
        }
    }
}
