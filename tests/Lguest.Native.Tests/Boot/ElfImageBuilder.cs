using System.Buffers.Binary;

namespace Lguest.Native.Tests.Boot;

/// <summary>
/// Writes a minimal x86 ELF executable, 32- or 64-bit: header, program headers right after it, then each segment's
/// bytes. Every header field can be overridden afterwards so tests can break one thing at a time.
/// </summary>
internal sealed class ElfImageBuilder
{
    public const uint PtLoad = 1;
    public const uint PtNote = 4;

    private readonly List<ElfSegment> _segments = [];

    public ElfImageBuilder(bool is64)
    {
        Is64 = is64;
        Machine = (ushort)(is64 ? 62 : 3);
        ProgramHeaderSize = (ushort)(is64 ? 56 : 32);
    }

    public bool Is64 { get; }

    public int HeaderSize => Is64 ? 64 : 52;

    public byte Class { get; set; } = 0; // 0: the right one for Is64

    public byte Data { get; set; } = 1;

    public ushort Type { get; set; } = 2;

    public ushort Machine { get; set; }

    public ulong Entry { get; set; } = 0x100000;

    public ushort ProgramHeaderSize { get; set; }

    public ushort? ProgramHeaderCount { get; set; }

    public ulong? ProgramHeaderOffset { get; set; }

    public ElfSegment Segment(uint type, ulong physicalAddress, byte[] data, ulong memorySize)
    {
        var segment = new ElfSegment(type, physicalAddress, data, memorySize);
        _segments.Add(segment);
        return segment;
    }

    public byte[] Build()
    {
        int entrySize = Is64 ? 56 : 32;
        int tableOffset = HeaderSize;
        int dataOffset = tableOffset + (entrySize * _segments.Count);
        var offsets = new List<int>();
        foreach (ElfSegment s in _segments)
        {
            dataOffset = (dataOffset + 15) & ~15;
            offsets.Add(dataOffset);
            dataOffset += s.Data.Length;
        }
        byte[] image = new byte[Math.Max(dataOffset, HeaderSize)];

        image[0] = 0x7f;
        image[1] = (byte)'E';
        image[2] = (byte)'L';
        image[3] = (byte)'F';
        image[4] = Class != 0 ? Class : (byte)(Is64 ? 2 : 1);
        image[5] = Data;
        image[6] = 1; // EV_CURRENT
        Span<byte> h = image;
        BinaryPrimitives.WriteUInt16LittleEndian(h[16..], Type);
        BinaryPrimitives.WriteUInt16LittleEndian(h[18..], Machine);
        BinaryPrimitives.WriteUInt32LittleEndian(h[20..], 1);
        ulong phoff = ProgramHeaderOffset ?? (ulong)tableOffset;
        ushort phnum = ProgramHeaderCount ?? (ushort)_segments.Count;
        if (Is64)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(h[24..], Entry);
            BinaryPrimitives.WriteUInt64LittleEndian(h[32..], phoff);
            BinaryPrimitives.WriteUInt16LittleEndian(h[52..], 64);
            BinaryPrimitives.WriteUInt16LittleEndian(h[54..], ProgramHeaderSize);
            BinaryPrimitives.WriteUInt16LittleEndian(h[56..], phnum);
        }
        else
        {
            BinaryPrimitives.WriteUInt32LittleEndian(h[24..], checked((uint)Entry));
            BinaryPrimitives.WriteUInt32LittleEndian(h[28..], checked((uint)phoff));
            BinaryPrimitives.WriteUInt16LittleEndian(h[40..], 52);
            BinaryPrimitives.WriteUInt16LittleEndian(h[42..], ProgramHeaderSize);
            BinaryPrimitives.WriteUInt16LittleEndian(h[44..], phnum);
        }

        for (int i = 0; i < _segments.Count; i++)
        {
            ElfSegment s = _segments[i];
            Span<byte> p = h.Slice(tableOffset + (i * entrySize), entrySize);
            ulong offset = s.FileOffset ?? (ulong)offsets[i];
            ulong fileSize = s.FileSize ?? (ulong)s.Data.Length;
            BinaryPrimitives.WriteUInt32LittleEndian(p, s.Type);
            if (Is64)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(p[4..], 7);
                BinaryPrimitives.WriteUInt64LittleEndian(p[8..], offset);
                BinaryPrimitives.WriteUInt64LittleEndian(p[16..], s.PhysicalAddress | 0xffffffff80000000);
                BinaryPrimitives.WriteUInt64LittleEndian(p[24..], s.PhysicalAddress);
                BinaryPrimitives.WriteUInt64LittleEndian(p[32..], fileSize);
                BinaryPrimitives.WriteUInt64LittleEndian(p[40..], s.MemorySize);
                BinaryPrimitives.WriteUInt64LittleEndian(p[48..], 0x1000);
            }
            else
            {
                BinaryPrimitives.WriteUInt32LittleEndian(p[4..], checked((uint)offset));
                BinaryPrimitives.WriteUInt32LittleEndian(p[8..], unchecked((uint)s.PhysicalAddress + 0xc0000000));
                BinaryPrimitives.WriteUInt32LittleEndian(p[12..], checked((uint)s.PhysicalAddress));
                BinaryPrimitives.WriteUInt32LittleEndian(p[16..], checked((uint)fileSize));
                BinaryPrimitives.WriteUInt32LittleEndian(p[20..], checked((uint)s.MemorySize));
                BinaryPrimitives.WriteUInt32LittleEndian(p[24..], 7);
                BinaryPrimitives.WriteUInt32LittleEndian(p[28..], 0x1000);
            }
            s.Data.CopyTo(image, offsets[i]);
        }
        return image;
    }
}

/// <summary>One program header; the overrides make its file range disagree with the bytes actually written.</summary>
internal sealed class ElfSegment(uint type, ulong physicalAddress, byte[] data, ulong memorySize)
{
    public uint Type { get; } = type;

    public ulong PhysicalAddress { get; } = physicalAddress;

    public byte[] Data { get; } = data;

    public ulong MemorySize { get; } = memorySize;

    public ulong? FileOffset { get; set; }

    public ulong? FileSize { get; set; }
}
