using System.Buffers.Binary;

namespace Lguest.DeviceTestKit.Rig;

/// <summary>
/// The smallest image the launcher's loader accepts: a 32-bit x86 ELF executable with one PT_LOAD segment at
/// <see cref="LoadAddress"/> holding "hlt; jmp .-1". A simulated guest never executes it; the launcher still loads
/// it, lays out memory around it and hands the engine its entry point, as for a real kernel.
/// </summary>
public static class TinyKernel
{
    public const uint LoadAddress = 0x100000;
    private const int HeaderSize = 52;
    private const int ProgramHeaderSize = 32;
    private const int SegmentOffset = 0x1000;
    private static readonly byte[] Code = [0xF4, 0xEB, 0xFD];

    /// <summary>Writes the image to <paramref name="path"/>.</summary>
    public static void Write(string path) => File.WriteAllBytes(path, Build());

    private static byte[] Build()
    {
        byte[] image = new byte[SegmentOffset + Code.Length];
        Span<byte> h = image;
        h[0] = 0x7f;
        h[1] = (byte)'E';
        h[2] = (byte)'L';
        h[3] = (byte)'F';
        h[4] = 1; // ELFCLASS32
        h[5] = 1; // ELFDATA2LSB
        h[6] = 1; // EV_CURRENT
        BinaryPrimitives.WriteUInt16LittleEndian(h[16..], 2); // ET_EXEC
        BinaryPrimitives.WriteUInt16LittleEndian(h[18..], 3); // EM_386
        BinaryPrimitives.WriteUInt32LittleEndian(h[20..], 1);
        BinaryPrimitives.WriteUInt32LittleEndian(h[24..], LoadAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(h[28..], HeaderSize);
        BinaryPrimitives.WriteUInt16LittleEndian(h[40..], HeaderSize);
        BinaryPrimitives.WriteUInt16LittleEndian(h[42..], ProgramHeaderSize);
        BinaryPrimitives.WriteUInt16LittleEndian(h[44..], 1);
        Span<byte> p = h[HeaderSize..];
        BinaryPrimitives.WriteUInt32LittleEndian(p, 1); // PT_LOAD
        BinaryPrimitives.WriteUInt32LittleEndian(p[4..], SegmentOffset);
        BinaryPrimitives.WriteUInt32LittleEndian(p[8..], LoadAddress + 0xc0000000); // lguest's kernels link high
        BinaryPrimitives.WriteUInt32LittleEndian(p[12..], LoadAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(p[16..], (uint)Code.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(p[20..], 4096);
        BinaryPrimitives.WriteUInt32LittleEndian(p[24..], 7);
        BinaryPrimitives.WriteUInt32LittleEndian(p[28..], 0x1000);
        Code.CopyTo(image.AsSpan(SegmentOffset));
        return image;
    }
}
