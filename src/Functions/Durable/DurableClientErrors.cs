namespace RoleGen.Functions.Durable;

internal static class DurableClientErrors
{
    /// <summary>True for the client's "an instance with this id already exists" failure. The gRPC client throws
    /// DurableTask.Core.Exceptions.OrchestrationAlreadyExistsException, a type name that two referenced assemblies
    /// define, so it is matched by name.</summary>
    public static bool IsAlreadyExists(Exception ex)
        => ex.GetType().Name == "OrchestrationAlreadyExistsException"
           || (ex is InvalidOperationException && ex.Message.Contains("already exists", StringComparison.OrdinalIgnoreCase));
}
