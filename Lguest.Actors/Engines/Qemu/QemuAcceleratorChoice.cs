using Lguest.Actors.Configuration;
using Lguest.Native.Interop;

namespace Lguest.Actors.Engines.Qemu;

/// <summary>KVM or TCG, and why: the launcher logs the reason, since TCG is many times slower.</summary>
internal sealed record QemuAcceleratorChoice(bool Kvm, string Reason)
{
    public const string KvmDevice = "/dev/kvm";

    public static QemuAcceleratorChoice For(QemuAccelerator configured)
    {
        switch (configured)
        {
            case QemuAccelerator.Kvm:
                return new(true, "qemu.accel = kvm");
            case QemuAccelerator.Tcg:
                return new(false, "qemu.accel = tcg");
        }
        try
        {
            using FileDescriptor kvm = FileDescriptor.Open(KvmDevice, LibC.O_RDWR | LibC.O_CLOEXEC);
        }
        catch (SystemCallException e)
        {
            return new(false, $"{KvmDevice} does not open read-write ({e.Message}), so QEMU emulates the CPU (slow)");
        }
        // Seen on this project's CI: a VM that passes /dev/kvm through without virtualization extensions, where a
        // KVM guest never runs an instruction. Without vmx or svm KVM cannot work, so the device alone is not enough.
        return HasVirtualizationExtensions()
            ? new(true, $"{KvmDevice} opens read-write and the CPU has vmx/svm")
            : new(false, $"{KvmDevice} opens read-write but the CPU shows no vmx/svm flag (KVM would hang), so QEMU emulates the CPU (slow)");
    }

    private static bool HasVirtualizationExtensions()
    {
        try
        {
            foreach (string line in File.ReadLines("/proc/cpuinfo"))
            {
                if (line.StartsWith("flags", StringComparison.Ordinal))
                {
                    string[] flags = line.Split([' ', '\t', ':'], StringSplitOptions.RemoveEmptyEntries);
                    return flags.Contains("vmx") || flags.Contains("svm");
                }
            }
        }
        catch (IOException)
        {
        }
        return false;
    }
}
