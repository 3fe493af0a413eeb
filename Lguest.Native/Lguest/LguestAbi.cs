namespace Lguest.Native.Lguest;

/// <summary>
/// The numbers the launcher, the host module and the guest's lguest bus driver must agree on
/// (linux/lguest_launcher.h and the launcher itself). Names follow the C so they can be grepped for.
/// </summary>
public static class LguestAbi
{
    // Requests written to /dev/lguest: the first native word of every write. The header numbers all five, but the
    // seed's kernel (lguest_user.c's write()) accepts only INITIALIZE, IRQ and EVENTFD and answers EINVAL to the rest:
    // GETDMA and BREAK were gone by then, so the launcher never sends them.
    public const int LHREQ_INITIALIZE = 0;
    public const int LHREQ_GETDMA = 1;
    public const int LHREQ_IRQ = 2;
    public const int LHREQ_BREAK = 3;
    public const int LHREQ_EVENTFD = 4;

    /// <summary>The hypercall a guest makes to kick a queue or report a status change.</summary>
    public const int LHCALL_NOTIFY = 17;

    /// <summary>The guest is x86: its pages, and so page-frame numbers, are always 4096 bytes whatever the host uses.</summary>
    public const int PageSize = 4096;

    public const int LGUEST_VRING_ALIGN = 4096;

    /// <summary>Pages above guest RAM reserved for the device page and the rings behind it.</summary>
    public const int DEVICE_PAGES = 256;

    /// <summary>Descriptors per queue for every device the launcher makes.</summary>
    public const int VIRTQUEUE_NUM = 256;

    /// <summary>The host gives a guest 32 interrupt lines.</summary>
    public const int IrqLines = 32;

    /// <summary>Line 0 is the timer, so queues take lines from 1.</summary>
    public const int FirstDeviceIrq = 1;

    /// <summary>One line per queue, so this many queues across all devices.</summary>
    public const int MaxVirtqueues = IrqLines - FirstDeviceIrq;

    /// <summary>struct lguest_device_desc, packed: u8 type, num_vq, feature_len, config_len, status.</summary>
    public const int DeviceDescriptorSize = 5;

    public const int DescriptorTypeOffset = 0;
    public const int DescriptorNumVqOffset = 1;
    public const int DescriptorFeatureLenOffset = 2;
    public const int DescriptorConfigLenOffset = 3;
    public const int DescriptorStatusOffset = 4;

    /// <summary>struct lguest_vqconfig: u16 num, u16 irq, u32 pfn.</summary>
    public const int VirtqueueConfigSize = 8;

    /// <summary>
    /// The guest's lguest bus driver copies at most 32 feature bits out of the page; a bit above that could be
    /// offered but never seen, so the bus refuses it.
    /// </summary>
    public const int MaxFeatureBits = 32;

    /// <summary>config_len is a u8.</summary>
    public const int MaxConfigLength = byte.MaxValue;

    /// <summary>The type byte that ends the device page.</summary>
    public const byte EndOfDevices = 0;

    /// <summary>Most bytes the host gives when asked why the guest died.</summary>
    public const int DeathReasonLength = 1024;
}
