using System.Buffers.Binary;
using Lguest.Native.Memory;

namespace Lguest.Native.Boot;

/// <summary>
/// A bzImage, unlike an ELF file, is not meant to be loaded: you jump into it and it unpacks itself. The Guest's
/// entry path skips the real-mode setup code, so all we need from the boot header is where in the file the
/// protected-mode code starts and where to enter it; that code goes at 1 MiB, as for any modern bzImage.
/// </summary>
internal static class BzImageLoader
{
    public static LoadedKernel Load(ImageFile file, GuestMemory memory, ulong ramSize)
    {
        if (file.Length < BootProtocol.MinimumBzImageHeader)
        {
            throw NotAKernel(file, $"not ELF, and at {file.Length} bytes too short for a bzImage setup header");
        }

        // A constant-sized read: everything up to where the setup header must end.
        byte[] head = new byte[Math.Min(file.Length, (ulong)BootProtocol.SetupHeaderLimit)];
        file.ReadExactly(0, head);
        if (BinaryPrimitives.ReadUInt32LittleEndian(head.AsSpan(BootProtocol.HeaderMagicOffset)) != BootProtocol.HeaderMagic)
        {
            throw NotAKernel(file, "neither an ELF vmlinux (no \\x7fELF at 0) nor a bzImage (no \"HdrS\" at 0x202)");
        }

        int setupSectors = head[BootProtocol.SetupSectorsOffset];
        if (setupSectors == 0)
        {
            setupSectors = BootProtocol.LegacySetupSectors;
        }
        // The boot sector plus the setup sectors: at least 1 KiB, so the header buffer above is full.
        ulong payloadOffset = (ulong)(setupSectors + 1) * BootProtocol.SectorSize;
        if (file.Length <= payloadOffset)
        {
            throw NotAKernel(file, $"bzImage ends inside its {setupSectors} setup sectors: no protected-mode code at 0x{payloadOffset:x}");
        }
        ulong payloadSize = file.Length - payloadOffset;
        if (!memory.Contains(BootProtocol.BzImageLoadAddress, payloadSize))
        {
            throw new BootImageException(
                BootImageError.KernelTooLarge,
                file.Path,
                $"0x{payloadSize:x} bytes of protected-mode code do not fit in guest memory (0x{memory.Size:x} bytes) from 0x{BootProtocol.BzImageLoadAddress:x}");
        }
        if (payloadSize > ramSize - Math.Min(ramSize, BootProtocol.BzImageLoadAddress))
        {
            // Above RAM is the lguest device page, then the rings: a kernel reaching there would overwrite them.
            throw new BootImageException(
                BootImageError.KernelTooLarge,
                file.Path,
                $"0x{payloadSize:x} bytes of protected-mode code from 0x{BootProtocol.BzImageLoadAddress:x} run past the end of guest RAM (0x{ramSize:x} bytes) into the device page");
        }

        file.CopyTo(memory, BootProtocol.BzImageLoadAddress, payloadOffset, payloadSize);

        // The header says where it ends (the jump at 0x200 hops over it); trust that only within the room
        // boot_params gives it, and never below code32_start, which every "HdrS" kernel has.
        int headerEnd = Math.Clamp(
            BootProtocol.HeaderMagicOffset + head[BootProtocol.HeaderJumpLengthOffset],
            BootProtocol.MinimumBzImageHeader,
            BootProtocol.SetupHeaderLimit);
        uint entry = BinaryPrimitives.ReadUInt32LittleEndian(head.AsSpan(BootProtocol.Code32StartOffset));
        return new LoadedKernel(
            KernelFormat.BzImage,
            entry,
            BootProtocol.BzImageLoadAddress,
            BootProtocol.BzImageLoadAddress + payloadSize)
        {
            Path = file.Path,
            SetupHeader = head.AsMemory(BootProtocol.SetupHeaderOffset..headerEnd),
        };
    }

    private static BootImageException NotAKernel(ImageFile file, string problem)
        => new(BootImageError.NotAKernel, file.Path, problem);
}
