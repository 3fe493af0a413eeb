namespace Lguest.Native.Boot;

/// <summary>
/// Everything after the kernel's name on our command line belongs to the Guest kernel: we just glue the words back
/// together with single spaces, the way the shell took them apart.
/// </summary>
public static class CommandLine
{
    public static string Join(IEnumerable<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        return string.Join(' ', args.Select(a => a ?? throw new ArgumentException("a command-line word is null", nameof(args))));
    }
}
