namespace Lguest.Native.Boot;

/// <summary>Why a kernel, initrd or command line could not be laid out in guest memory.</summary>
public enum BootImageError
{
    /// <summary>Neither an ELF vmlinux nor a bzImage, or too short to hold either header.</summary>
    NotAKernel,

    /// <summary>An ELF file that is not an x86 executable we can load, or whose headers contradict the file.</summary>
    MalformedElf,

    /// <summary>A segment or bzImage payload that does not fit in the guest memory a kernel may use.</summary>
    KernelTooLarge,

    /// <summary>An initrd that cannot fit between the kernel (or the boot area) and the top of memory.</summary>
    InitrdTooLarge,

    /// <summary>A command line longer than the x86 COMMAND_LINE_SIZE, or one that would run into the kernel.</summary>
    CommandLineTooLong,
}
