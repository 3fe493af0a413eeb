namespace Lguest.Native.Virtio;

/// <summary>
/// The driver broke a virtqueue rule. The device's answer is to stop using the queue (lguest.c simply exits; a
/// modern device sets DEVICE_NEEDS_RESET), so this carries enough to say which rule and with what values.
/// </summary>
public sealed class VirtqueueException : Exception
{
    public VirtqueueException(VirtqueueViolation violation, string message)
        : base($"virtqueue violation {violation} (virtio 1.2 {SpecSection(violation)}): {message}")
    {
        Violation = violation;
    }

    public VirtqueueViolation Violation { get; }

    /// <summary>The section of the virtio 1.2 specification whose rule was broken.</summary>
    public static string SpecSection(VirtqueueViolation violation) => violation switch
    {
        VirtqueueViolation.ChainTooLong => "§2.7.5.2, §2.7.5.3.1",
        VirtqueueViolation.NextOutOfRange => "§2.7.5",
        VirtqueueViolation.HeadOutOfRange => "§2.7.6",
        VirtqueueViolation.AvailIndexTooFarAhead => "§2.7.6.1",
        VirtqueueViolation.IndirectWithoutFeature => "§2.7.5.3.1",
        VirtqueueViolation.IndirectTableLengthInvalid => "§2.7.5.3",
        VirtqueueViolation.IndirectTableOutsideMemory => "§2.7.5.3",
        VirtqueueViolation.NestedIndirect => "§2.7.5.3.1",
        VirtqueueViolation.IndirectWithNext => "§2.7.5.3.1",
        VirtqueueViolation.ReadableAfterWritable => "§2.7.4.2",
        VirtqueueViolation.BufferOutsideMemory => "§2.7.5",
        VirtqueueViolation.RingOutsideMemory => "§2.7.1",
        VirtqueueViolation.InvalidQueueSize => "§2.7",
        _ => "§2.7",
    };
}
