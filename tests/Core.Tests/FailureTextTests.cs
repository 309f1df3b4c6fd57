using RoleGen.Core.Runs;

namespace RoleGen.Core.Tests;

public sealed class FailureTextTests
{
    [Theory]
    [InlineData("GET https://acct.blob.core.windows.net/c/x failed", "GET <url> failed")]
    [InlineData("AccountName=acct;AccountKey=abc==;", "AccountName=<account>;AccountKey=<secret>;")]
    [InlineData("host acct.table.core.windows.net refused", "host <account> refused")]
    [InlineData("no such dataset 'demo'", "no such dataset 'demo'")]
    public void Sanitize_StorageDetails_AreReplaced(string text, string expected)
    {
        Assert.Equal(expected, FailureText.Sanitize(text));
    }
}
