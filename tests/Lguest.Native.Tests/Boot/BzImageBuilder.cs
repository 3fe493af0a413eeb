using System.Buffers.Binary;

namespace Lguest.Native.Tests.Boot;

/// <summary>
/// Writes a bzImage-shaped file: a boot sector and setup sectors filled with a marker byte (so loading from the
/// wrong offset shows), a setup header at 0x1f1, then the protected-mode payload.
/// </summary>
internal sealed class BzImageBuilder
{
    public const byte SetupFill = 0xEE;

    /// <summary>The raw setup_sects byte; 0 means 4.</summary>
    public byte SetupSectors { get; set; } = 4;

    public byte[] Payload { get; set; } = [];

    public uint Code32Start { get; set; } = 0x100000;

    public byte LoadFlags { get; set; } = 0x01; // LOADED_HIGH

    public ushort Version { get; set; } = 0x020c;

    /// <summary>kernel_alignment at 0x230, only there to show the header is copied into the zero page.</summary>
    public uint KernelAlignment { get; set; } = 0x200000;

    /// <summary>The header ends at 0x202 plus this.</summary>
    public byte HeaderJump { get; set; } = 0x66;

    /// <summary>
    /// The kernel_version string, placed in the setup sectors at <see cref="KernelVersionAt"/> with the 0x20e
    /// pointer at it (which counts from 0x200); null leaves the pointer 0.
    /// </summary>
    public string? KernelVersion { get; set; }

    /// <summary>The file offset the kernel_version string is written at.</summary>
    public int KernelVersionAt { get; set; } = 0x600;

    public int PayloadOffset => ((SetupSectors == 0 ? 4 : SetupSectors) + 1) * 512;

    public byte[] Build()
    {
        byte[] image = new byte[PayloadOffset + Payload.Length];
        image.AsSpan(0, PayloadOffset).Fill(SetupFill);
        Span<byte> h = image;
        h[0x1f1] = SetupSectors;
        BinaryPrimitives.WriteUInt16LittleEndian(h[0x1fe..], 0xAA55);
        h[0x200] = 0xEB;
        h[0x201] = HeaderJump;
        "HdrS"u8.CopyTo(h[0x202..]);
        BinaryPrimitives.WriteUInt16LittleEndian(h[0x206..], Version);
        h[0x211] = LoadFlags;
        BinaryPrimitives.WriteUInt32LittleEndian(h[0x214..], Code32Start);
        BinaryPrimitives.WriteUInt32LittleEndian(h[0x230..], KernelAlignment);
        BinaryPrimitives.WriteUInt16LittleEndian(h[0x20e..], 0);
        if (KernelVersion is not null)
        {
            BinaryPrimitives.WriteUInt16LittleEndian(h[0x20e..], (ushort)(KernelVersionAt - 0x200));
            byte[] text = System.Text.Encoding.ASCII.GetBytes(KernelVersion + "\0");
            text.CopyTo(image, KernelVersionAt);
        }
        Payload.CopyTo(image, PayloadOffset);
        return image;
    }
}
