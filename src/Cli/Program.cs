using RoleGen.Cli;

var root = Commands.Build();
var parse = root.Parse(args);
if (parse.Errors.Count > 0)
{
    foreach (var error in parse.Errors)
    {
        Console.Error.WriteLine($"rolegen: {error.Message}");
    }
    Console.Error.WriteLine("Try 'rolegen --help' (or 'rolegen <command> --help').");
    return ExitCodes.Usage;
}
return await parse.InvokeAsync();
