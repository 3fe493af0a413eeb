using System.Buffers.Binary;
using Lguest.Native.Boot;
using Lguest.Native.Memory;
using Lguest.Native.Tests.Boot;

namespace Lguest.Fuzz.Targets;

/// <summary>
/// The ELF, bzImage and initrd loaders over files the input is: u8 RAM size in MiB (1 to 16), three bytes unused,
/// u32 kernel length, the kernel, and the rest as the initrd (none when empty). A loaded kernel must lie inside RAM
/// and an initrd between the kernel and the top of RAM; bad images may only be refused with
/// <see cref="BootImageException"/>.
/// </summary>
internal sealed class BootTarget : IFuzzTarget
{
    private const ulong MiB = 1 << 20;
    private const ulong MemorySize = 16 * MiB;
    private static readonly Lazy<GuestMemory> SharedMemory = new(() => GuestMemory.CreateFlat(MemorySize));
    private readonly string _kernelPath = Path.Combine(Path.GetTempPath(), $"lguest-fuzz-{Environment.ProcessId}-kernel");
    private readonly string _initrdPath = Path.Combine(Path.GetTempPath(), $"lguest-fuzz-{Environment.ProcessId}-initrd");

    public string Name => "boot";

    public int Progress { get; private set; }

    public void Run(ReadOnlySpan<byte> input)
    {
        Progress = 0;
        if (input.Length < 8)
        {
            return;
        }
        ulong ramSize = (ulong)Math.Clamp(input[0], (byte)1, (byte)16) * MiB;
        int kernelLength = (int)Math.Min(BinaryPrimitives.ReadUInt32LittleEndian(input[4..]), (uint)(input.Length - 8));
        File.WriteAllBytes(_kernelPath, input.Slice(8, kernelLength));
        ReadOnlySpan<byte> initrd = input[(8 + kernelLength)..];
        GuestMemory memory = SharedMemory.Value;
        try
        {
            LoadedKernel kernel = KernelLoader.Load(memory, _kernelPath, ramSize);
            if (kernel.HighestAddress > ramSize || kernel.LowestAddress > kernel.HighestAddress)
            {
                throw new FuzzInvariantException($"kernel loaded at 0x{kernel.LowestAddress:x}-0x{kernel.HighestAddress:x}, RAM is 0x{ramSize:x}");
            }
            Progress++;
            if (initrd.Length > 0)
            {
                File.WriteAllBytes(_initrdPath, initrd);
                InitrdPlacement placed = InitrdLoader.Load(memory, ramSize, _initrdPath, kernel);
                if (placed.Address < kernel.HighestAddress || placed.Address + placed.Size > ramSize)
                {
                    throw new FuzzInvariantException($"initrd at 0x{placed.Address:x}+0x{placed.Size:x} overlaps the kernel or leaves RAM");
                }
                Progress++;
            }
        }
        catch (BootImageException)
        {
            // A bad image is refused with a message naming it; the launcher exits 2 and nothing is left half-loaded.
        }
        finally
        {
            File.Delete(_kernelPath);
            File.Delete(_initrdPath);
        }
    }

    public IEnumerable<(string Name, byte[] Input)> Seeds()
    {
        var elf64 = new ElfImageBuilder(is64: true) { Entry = 0x100040 };
        elf64.Segment(ElfImageBuilder.PtLoad, 0x100000, Pattern(256), 300);
        elf64.Segment(ElfImageBuilder.PtNote, 0, Pattern(16), 16);
        yield return ("elf64-with-initrd", Input(8, elf64.Build(), Pattern(700)));

        var elf32 = new ElfImageBuilder(is64: false);
        elf32.Segment(ElfImageBuilder.PtLoad, 0x100000, Pattern(32), 32);
        elf32.Segment(ElfImageBuilder.PtLoad, 0x300000, [], 0x2000);
        yield return ("elf32", Input(4, elf32.Build(), []));

        var bz = new BzImageBuilder { Payload = Pattern(1024), KernelVersion = "6.1.0-fuzz" };
        yield return ("bzimage-with-initrd", Input(8, bz.Build(), Pattern(5000)));
    }

    private static byte[] Input(byte ramMiB, byte[] kernel, byte[] initrd)
    {
        byte[] input = [ramMiB, 0, 0, 0, 0, 0, 0, 0, .. kernel, .. initrd];
        BinaryPrimitives.WriteUInt32LittleEndian(input.AsSpan(4), (uint)kernel.Length);
        return input;
    }

    private static byte[] Pattern(int length) => [.. Enumerable.Range(0, length).Select(i => (byte)(i * 7 + 3))];
}
