using Lguest.Host;

// Everything that can be wrong with the arguments or the config is reported (exit 2) before any actor exists.
CliOutcome outcome = Cli.Parse(args, Console.Out, Console.Error);
return outcome switch
{
    CliOutcome.Launch launch => await LauncherHost.RunAsync(launch).ConfigureAwait(false),
    CliOutcome.Exit exit => exit.Code,
    _ => throw new InvalidOperationException($"unexpected {outcome}"),
};
