namespace Lguest.Native.Lguest;

/// <summary>
/// There is no /dev/lguest to talk to. Almost every machine today is in this position, so the message says why and
/// what to use instead rather than just "no such file".
/// </summary>
public sealed class LguestUnavailableException : Exception
{
    public LguestUnavailableException(string path, Exception innerException)
        : base(
            $"{path} is not available ({innerException.Message}). /dev/lguest left Linux in 4.14 and only ever ran on "
            + "32-bit x86 hosts, so lguest needs a pre-4.14 32-bit x86 host kernel with the lguest module loaded. "
            + "The engines that work here are `simulated` and `vhost-user` (with QEMU).",
            innerException)
    {
        Path = path;
    }

    public string Path { get; }
}
