using Azure.Storage.Blobs;
using RoleGen.Core.Storage;
using RoleGen.Infrastructure.Reasoning;
using RoleGen.Infrastructure.Storage;

namespace RoleGen.Cli.Tests;

/// <summary><c>rolegen prompts list|promote|rollback</c> on Azurite, in a container of their own.</summary>
public sealed class PromptsCommandTests
{
    private static Task<(int Code, string Output)> Run(params string[] args) => CliRunner.RunAsync(args);

    [Theory]
    [InlineData("list", "candidates")]
    [InlineData("promote", "version")]
    [InlineData("rollback", "back")]
    public async Task Help_PromptsSubcommands_DescribeThemselves(string command, string expected)
    {
        var (code, output) = await Run("prompts", command, "--help");
        Assert.Equal(0, code);
        Assert.Contains(expected, output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Promote_BadVersion_IsBadInputBeforeTouchingStorage()
    {
        var (code, output) = await Run("--storage", CliTests.Unreachable, "prompts", "promote", "../current");
        Assert.Equal(ExitCodes.BadInput, code);
        Assert.Contains("not a prompt version", output, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Category", "Azurite")]
    public async Task ListPromoteRollback_MoveThePointer_AndShowIt()
    {
        var container = "rgp" + Guid.NewGuid().ToString("N")[..20];
        var client = new BlobServiceClient("UseDevelopmentStorage=true").GetBlobContainerClient(container);
        try
        {
            await client.CreateIfNotExistsAsync();
            var prompts = new PromptStore(new AzureBlobStore(client));
            Assert.True(await prompts.TryCreateAsync("v2", PromptStore.Shipped("v1") + "\nRevised guidance."));
            await prompts.StageAsync("v2", "v1", DateTimeOffset.UtcNow, "sharper complement guidance");

            var (code, output) = await Run("--container", container, "prompts", "list");
            Assert.Equal(ExitCodes.Ok, code);
            Assert.Contains("Current: v1 (shipped default", output, StringComparison.Ordinal);
            Assert.Contains("v2       staged", output, StringComparison.Ordinal);
            Assert.Contains("sharper complement guidance", output, StringComparison.Ordinal);
            Assert.Contains("History: none", output, StringComparison.Ordinal);

            (code, output) = await Run("--container", container, "prompts", "promote", "v2");
            Assert.Equal(ExitCodes.Ok, code);
            Assert.Contains("from v1 to v2", output, StringComparison.Ordinal);
            Assert.Equal("v2", await prompts.ResolveAsync(PromptStore.Latest));

            (code, output) = await Run("--container", container, "prompts", "list");
            Assert.Contains("Current: v2", output, StringComparison.Ordinal);
            Assert.Contains("v2       current", output, StringComparison.Ordinal);
            Assert.Contains("promote  v1 -> v2", output, StringComparison.Ordinal);

            (code, output) = await Run("--container", container, "prompts", "rollback");
            Assert.Equal(ExitCodes.Ok, code);
            Assert.Contains("back from v2 to v1", output, StringComparison.Ordinal);
            Assert.Equal("v1", await prompts.ResolveAsync(PromptStore.Latest));

            (code, output) = await Run("--container", container, "prompts", "rollback");
            Assert.Equal(ExitCodes.BadInput, code);
            Assert.Contains("Nothing to roll back to", output, StringComparison.Ordinal);

            (code, output) = await Run("--container", container, "prompts", "promote", "v7");
            Assert.Equal(ExitCodes.NotFound, code);
            Assert.Contains("No prompt version v7", output, StringComparison.Ordinal);

            // A promoted template changed afterwards: list says the pointer is refused.
            (code, _) = await Run("--container", container, "prompts", "promote", "v2");
            Assert.Equal(ExitCodes.Ok, code);
            await client.GetBlobClient(BlobLayout.Prompt("v2")).UploadAsync(BinaryData.FromString("tampered"), overwrite: true);
            (code, output) = await Run("--container", container, "prompts", "list");
            Assert.Equal(ExitCodes.Ok, code);
            Assert.Contains("REFUSED", output, StringComparison.Ordinal);
            Assert.Contains("SHA-256", output, StringComparison.Ordinal);
        }
        finally
        {
            await client.DeleteIfExistsAsync();
        }
    }
}
