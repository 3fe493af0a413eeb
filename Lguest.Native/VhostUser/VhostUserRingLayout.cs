using Lguest.Native.Memory;
using Lguest.Native.Virtio;

namespace Lguest.Native.VhostUser;

/// <summary>Turns SET_VRING_ADDR's front-end addresses into a guest-physical <see cref="SplitQueueLayout"/>.</summary>
public static class VhostUserRingLayout
{
    /// <summary>
    /// Each part must be aligned as virtio requires (descriptors 16, available 2, used 4 bytes) and lie wholly inside one
    /// memory region, checked both as user addresses and as the guest-physical addresses they translate to.
    /// </summary>
    public static SplitQueueLayout Resolve(GuestMemory memory, ushort size, VhostUserVringAddress address)
    {
        ArgumentNullException.ThrowIfNull(memory);
        ArgumentNullException.ThrowIfNull(address);
        ulong descriptors = Translate(memory, address.Index, "descriptor table", address.DescriptorUserAddress, SplitQueueLayout.DescriptorBytes(size), 16);
        ulong available = Translate(memory, address.Index, "available ring", address.AvailableUserAddress, SplitQueueLayout.AvailableBytes(size), 2);
        ulong used = Translate(memory, address.Index, "used ring", address.UsedUserAddress, SplitQueueLayout.UsedBytes(size), 4);
        return new SplitQueueLayout(size, descriptors, available, used);
    }

    private static ulong Translate(GuestMemory memory, uint index, string part, ulong userAddress, ulong length, ulong alignment)
    {
        if (userAddress % alignment != 0)
        {
            throw new VhostUserProtocolException(VhostUserViolation.RingAddressMisaligned, $"vring {index} {part} at user 0x{userAddress:x} is not {alignment}-byte aligned");
        }
        if (!memory.TryTranslateUserAddress(userAddress, length, out ulong guest))
        {
            throw new VhostUserProtocolException(
                VhostUserViolation.RingAddressUntranslatable,
                $"vring {index} {part} at user 0x{userAddress:x} (0x{length:x} bytes) is not inside one memory region");
        }
        if (guest % alignment != 0)
        {
            throw new VhostUserProtocolException(
                VhostUserViolation.RingAddressMisaligned,
                $"vring {index} {part} translates to guest 0x{guest:x}, not {alignment}-byte aligned (its region's user and guest addresses disagree)");
        }
        return guest;
    }
}
