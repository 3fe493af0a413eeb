namespace Lguest.Native.Boot;

/// <summary>
/// What loading a kernel left in guest memory: where to start it and which guest-physical range
/// [<see cref="LowestAddress"/>, <see cref="HighestAddress"/>) it now occupies, so the initrd and the command line
/// can be kept clear of it.
/// </summary>
public sealed record LoadedKernel(KernelFormat Format, ulong EntryPoint, ulong LowestAddress, ulong HighestAddress)
{
    /// <summary>The file it came from, for messages about it.</summary>
    public string Path { get; init; } = string.Empty;

    /// <summary>
    /// A bzImage's setup header as it appears in the file (from 0x1f1 to the end the header itself declares), to be
    /// copied into the zero page. Empty for ELF kernels, which have none.
    /// </summary>
    internal ReadOnlyMemory<byte> SetupHeader { get; init; }
}
