using System.ComponentModel.DataAnnotations;

namespace RoleGen.Infrastructure.Storage;

/// <summary>Where RoleGen keeps its blobs. Locally a connection string (Azurite); in Azure a service URI with managed identity.</summary>
public sealed class StorageOptions
{
    public const string SectionName = "RoleGen:Storage";

    /// <summary>Azurite / connection-string mode (local). Ignored when <see cref="BlobServiceUri"/> is set.</summary>
    public string? ConnectionString { get; set; } = "UseDevelopmentStorage=true";

    /// <summary>Identity mode (Azure): e.g. https://account.blob.core.windows.net.</summary>
    public Uri? BlobServiceUri { get; set; }

    [Required]
    [RegularExpression("^[a-z0-9](?!.*--)[a-z0-9-]{1,61}[a-z0-9]$", ErrorMessage = "Container names are 3-63 lowercase letters, digits and single hyphens.")]
    public string Container { get; set; } = "rolegen";
}
