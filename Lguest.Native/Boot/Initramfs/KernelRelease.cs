using System.Buffers.Binary;
using System.Text;

namespace Lguest.Native.Boot.Initramfs;

/// <summary>
/// The version a bzImage was built as, read from its setup header the way the boot protocol publishes it: the
/// 16-bit kernel_version field at 0x20e (protocol 2.00 and later) points at a NUL-terminated string, 0x200 bytes
/// before where it sits in the file. The first word of that string is the release ("6.1.0-57-cloud-amd64") that
/// names /lib/modules/RELEASE, so an initramfs can be built for the kernel a guest boots rather than the host's.
/// </summary>
/// <param name="Release">The first word: the directory name under /lib/modules.</param>
/// <param name="Banner">The whole string, which also carries the build number and date.</param>
internal sealed record KernelRelease(string Release, string Banner)
{
    public const int KernelVersionOffset = 0x20E;
    public const ushort FirstProtocolWithVersion = 0x200;

    /// <summary>Generous: Linux's string is "RELEASE (builder) #N SMP ... DATE", some 100-200 bytes.</summary>
    private const int MaxBannerLength = 512;

    /// <exception cref="BootImageException">Not a bzImage, or one whose header has no usable version string.</exception>
    public static KernelRelease Read(string path)
    {
        using ImageFile file = ImageFile.Open(path);
        Span<byte> magic = stackalloc byte[4];
        if (file.Length >= 4)
        {
            file.ReadExactly(0, magic);
            if (magic.SequenceEqual("\u007fELF"u8))
            {
                throw NoVersion(path, "an ELF vmlinux, not a bzImage: it has no setup header saying which kernel version it is");
            }
        }
        if (file.Length < BootProtocol.MinimumBzImageHeader)
        {
            throw NoVersion(path, $"at {file.Length} bytes too short for a bzImage setup header");
        }
        byte[] head = new byte[BootProtocol.SetupHeaderLimit];
        file.ReadExactly(0, head);
        if (BinaryPrimitives.ReadUInt32LittleEndian(head.AsSpan(BootProtocol.HeaderMagicOffset)) != BootProtocol.HeaderMagic)
        {
            throw NoVersion(path, "not a bzImage (no \"HdrS\" at 0x202), so it carries no kernel version to find modules by");
        }
        ushort protocol = BinaryPrimitives.ReadUInt16LittleEndian(head.AsSpan(BootProtocol.VersionOffset));
        if (protocol < FirstProtocolWithVersion)
        {
            throw NoVersion(path, $"boot protocol {protocol >> 8}.{protocol & 0xFF:D2} predates the kernel_version field");
        }
        ushort pointer = BinaryPrimitives.ReadUInt16LittleEndian(head.AsSpan(KernelVersionOffset));
        if (pointer == 0)
        {
            throw NoVersion(path, "the setup header's kernel_version pointer is 0");
        }
        // The string lives in the setup code, which is loaded at 0x200 bytes past the file's start.
        ulong offset = (ulong)pointer + 0x200;
        int setupSectors = head[BootProtocol.SetupSectorsOffset] == 0 ? BootProtocol.LegacySetupSectors : head[BootProtocol.SetupSectorsOffset];
        ulong setupEnd = Math.Min(file.Length, (ulong)(setupSectors + 1) * BootProtocol.SectorSize);
        if (offset >= setupEnd)
        {
            throw NoVersion(path, $"kernel_version points at 0x{offset:x}, beyond the setup code (0x{setupEnd:x} bytes)");
        }
        byte[] text = new byte[(int)Math.Min((ulong)MaxBannerLength, setupEnd - offset)];
        file.ReadExactly(offset, text);
        int end = Array.IndexOf(text, (byte)0);
        if (end < 0)
        {
            throw NoVersion(path, $"the kernel_version string at 0x{offset:x} has no terminating NUL within {text.Length} bytes");
        }
        string banner = Encoding.ASCII.GetString(text, 0, end);
        string release = banner.Split(' ', 2)[0];
        if (release.Length == 0 || !release.All(IsReleaseCharacter))
        {
            throw NoVersion(path, $"the kernel_version string at 0x{offset:x} does not start with a release name: '{Printable(banner)}'");
        }
        return new KernelRelease(release, banner);
    }

    /// <summary>What a release may hold: it becomes a directory name, so no '/' and nothing a shell would mangle.</summary>
    private static bool IsReleaseCharacter(char c) => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_' or '+' or '~';

    private static string Printable(string text)
        => new(text.Take(60).Select(c => c is >= ' ' and <= '~' ? c : '?').ToArray());

    private static BootImageException NoVersion(string path, string problem) => new(BootImageError.NotAKernel, path, problem);
}
