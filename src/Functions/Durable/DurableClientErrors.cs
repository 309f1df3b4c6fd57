using DurableTask.Core.Exceptions;

namespace RoleGen.Functions.Durable;

internal static class DurableClientErrors
{
    /// <summary>True for the client's "an instance with this id already exists" failure: the gRPC client turns the
    /// host's AlreadyExists status into <see cref="OrchestrationAlreadyExistsException"/>; older backends throw an
    /// <see cref="InvalidOperationException"/> saying so.</summary>
    public static bool IsAlreadyExists(Exception ex)
        => ex is OrchestrationAlreadyExistsException
           || (ex is InvalidOperationException && ex.Message.Contains("already exists", StringComparison.OrdinalIgnoreCase));
}
