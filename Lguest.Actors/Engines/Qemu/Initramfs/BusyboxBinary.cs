using System.Buffers.Binary;
using System.Security.Cryptography;

namespace Lguest.Actors.Engines.Qemu.Initramfs;

/// <summary>
/// The busybox that becomes the guest's whole userland. It must be statically linked: the initramfs carries no
/// libc, so a dynamic busybox would fail in the guest with nothing on the console to say why.
/// </summary>
internal sealed record BusyboxBinary(string Path, string Sha256)
{
    private static readonly string[] UsualPlaces = ["/bin/busybox", "/usr/bin/busybox"];

    private const int ProgramHeaderInterpreter = 3; // PT_INTERP: the program asks for a dynamic loader

    /// <summary>The given busybox, or the first of /bin, /usr/bin and PATH; refuses a dynamic one.</summary>
    public static BusyboxBinary Find(string? requested)
    {
        string path = requested ?? Search()
            ?? throw InitramfsErrors.CannotBuild("busybox not found in /bin, /usr/bin or PATH (apt-get install busybox-static)");
        if (!File.Exists(path))
        {
            throw InitramfsErrors.CannotBuild($"busybox {path} does not exist");
        }
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw InitramfsErrors.CannotBuild($"cannot read busybox {path}: {e.Message}");
        }
        string? problem = StaticElfProblem(bytes);
        if (problem is not null)
        {
            throw InitramfsErrors.CannotBuild($"busybox {path} {problem}");
        }
        return new BusyboxBinary(path, Convert.ToHexStringLower(SHA256.HashData(bytes)));
    }

    /// <summary>Null for a static ELF executable; otherwise what is wrong with it, for the error line.</summary>
    internal static string? StaticElfProblem(ReadOnlySpan<byte> elf)
    {
        if (elf.Length < 52 || !elf[..4].SequenceEqual("\u007fELF"u8))
        {
            return "is not an ELF executable";
        }
        bool is64 = elf[4] == 2;
        if (elf[5] != 1)
        {
            return "is not a little-endian ELF file";
        }
        if (is64 && elf.Length < 64)
        {
            return "is a truncated ELF file";
        }
        ulong headerTable = is64 ? BinaryPrimitives.ReadUInt64LittleEndian(elf[32..]) : BinaryPrimitives.ReadUInt32LittleEndian(elf[28..]);
        int entrySize = BinaryPrimitives.ReadUInt16LittleEndian(elf[(is64 ? 54 : 42)..]);
        int count = BinaryPrimitives.ReadUInt16LittleEndian(elf[(is64 ? 56 : 44)..]);
        if (entrySize < 4 || headerTable + (ulong)entrySize * (ulong)count > (ulong)elf.Length)
        {
            return "has program headers outside the file";
        }
        for (int i = 0; i < count; i++)
        {
            int at = (int)headerTable + i * entrySize;
            if (BinaryPrimitives.ReadUInt32LittleEndian(elf[at..]) == ProgramHeaderInterpreter)
            {
                return "is dynamically linked; the guest has no libraries for it (apt-get install busybox-static)";
            }
        }
        return null;
    }

    private static string? Search()
    {
        IEnumerable<string> fromPath = (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => System.IO.Path.Combine(dir, "busybox"));
        return UsualPlaces.Concat(fromPath).FirstOrDefault(File.Exists);
    }
}
