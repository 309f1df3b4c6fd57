namespace RoleGen.Core.Tests;

/// <summary>The NuGet graph is pinned: every project restores with a checked-in packages.lock.json, and CI restores in
/// locked mode, so a package that resolves differently (a new mirror version, an NU1603 substitution) fails the build.</summary>
public sealed class LockFileTests
{
    private static string Root()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "RoleGen.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("RoleGen.sln not found above the test directory.");
    }

    [Fact]
    public void Every_project_has_a_lock_file_and_restores_with_one()
    {
        var root = Root();
        var props = File.ReadAllText(Path.Combine(root, "Directory.Build.props"));
        Assert.Contains("<RestorePackagesWithLockFile>true</RestorePackagesWithLockFile>", props, StringComparison.Ordinal);
        var projects = new[] { "src", "tests" }
            .SelectMany(d => Directory.GetFiles(Path.Combine(root, d), "*.csproj", SearchOption.AllDirectories))
            .Where(p => !p.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .ToArray();
        Assert.NotEmpty(projects);
        Assert.All(projects, p => Assert.True(File.Exists(Path.Combine(Path.GetDirectoryName(p)!, "packages.lock.json")), $"{p} has no packages.lock.json"));
    }

    [Fact]
    public void Ci_restores_in_locked_mode_before_building()
    {
        var script = File.ReadAllText(Path.Combine(Root(), "test.sh"));
        var restore = script.IndexOf("dotnet restore RoleGen.sln --locked-mode", StringComparison.Ordinal);
        var build = script.IndexOf("dotnet build RoleGen.sln", StringComparison.Ordinal);
        Assert.True(restore >= 0, "test.sh does not restore with --locked-mode");
        Assert.True(restore < build, "test.sh builds before the locked restore");
        Assert.Contains("--no-restore", script[build..script.IndexOf('\n', build)], StringComparison.Ordinal);
    }
}
