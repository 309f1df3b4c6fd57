using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using RoleGen.Core.Demo;
using RoleGen.Core.Ingest;

namespace RoleGen.Core.Tests;

/// <summary>SHA-256 of a generated world's normalized CSV, computed here or in a fresh process (this test assembly's own
/// entry point, see <see cref="Program"/>), to check that a seed means the same world in every process.</summary>
internal static class DemoDigest
{
    public const string Command = "demo-digest";

    public static string Compute(int seed, int users)
    {
        using var buffer = new MemoryStream();
        using (var writer = new NormalizedCsvWriter(buffer))
        {
            foreach (var e in new DemoWorldGenerator(new DemoWorldOptions { Users = users, Seed = seed }).Generate())
            {
                writer.Write(e);
            }
        }
        return Convert.ToHexString(SHA256.HashData(buffer.ToArray()));
    }

    public static string ComputeInChildProcess(int seed, int users)
    {
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } path && File.Exists(path) ? path : "dotnet";
        var start = new ProcessStartInfo(host)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "exec", typeof(DemoDigest).Assembly.Location, Command, seed.ToString(CultureInfo.InvariantCulture), users.ToString(CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(arg);
        }
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {host}.");
        var output = process.StandardOutput.ReadToEnd();
        var error = process.StandardError.ReadToEnd();
        if (!process.WaitForExit(60_000) || process.ExitCode != 0)
        {
            throw new InvalidOperationException($"Child process failed ({process.ExitCode}): {error}");
        }
        return output.Trim();
    }
}

/// <summary>Entry point of the test assembly (GenerateProgramFile is off): normally unused; <c>demo-digest seed users</c>
/// prints <see cref="DemoDigest.Compute"/> so a test can compare worlds across processes.</summary>
internal static class Program
{
    public static int Main(string[] args)
    {
        if (args is [DemoDigest.Command, var seed, var users])
        {
            Console.WriteLine(DemoDigest.Compute(int.Parse(seed, CultureInfo.InvariantCulture), int.Parse(users, CultureInfo.InvariantCulture)));
        }
        return 0;
    }
}
