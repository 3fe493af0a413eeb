using System.Buffers.Binary;
using System.Text;

namespace Lguest.Host.Tests.RealGuest;

/// <summary>What a real-guest test needs beyond a QEMU that boots the test initramfs.</summary>
[Flags]
public enum RealGuestNeeds
{
    /// <summary>qemu-system-x86_64, a bzImage with its modules, static busybox, modprobe, cpio and gzip.</summary>
    Boot = 0,

    /// <summary>qemu-storage-daemon, QEMU's own vhost-user-blk back end.</summary>
    StorageDaemon = 1,

    /// <summary>Root, ip(8) and /dev/net/tun: a network namespace with a tap in it.</summary>
    NetNamespace = 2,
}

/// <summary>
/// Decides whether this machine can boot a real guest under QEMU, and says precisely what is missing when it
/// cannot. Everything is probed once per test run. Setting LGUEST_SKIP_REAL_GUEST=1 skips the real-guest tests
/// on purpose (the reason says so).
/// </summary>
public static class RealGuestRequirements
{
    public const string Qemu = "qemu-system-x86_64";
    public const string StorageDaemonProgram = "qemu-storage-daemon";

    private static readonly Lazy<(string? Kernel, string? Version, string? Missing)> Probe = new(ProbeBoot);

    /// <summary>The bzImage the guests boot: /vmlinuz, else the newest /boot/vmlinuz-*.</summary>
    public static string Kernel => Probe.Value.Kernel ?? throw new InvalidOperationException(Probe.Value.Missing);

    /// <summary>The kernel's release ("6.1.0-56-cloud-amd64"), read from the bzImage's own header.</summary>
    public static string KernelVersion => Probe.Value.Version ?? throw new InvalidOperationException(Probe.Value.Missing);

    /// <summary>Null when everything <paramref name="needs"/> names is present; otherwise why the test is skipped.</summary>
    public static string? SkipReason(RealGuestNeeds needs = RealGuestNeeds.Boot)
    {
        var missing = new List<string>();
        if (Environment.GetEnvironmentVariable("LGUEST_SKIP_REAL_GUEST") is "1" or "true")
        {
            return "real-guest tests: skipped because LGUEST_SKIP_REAL_GUEST is set";
        }
        if (Probe.Value.Missing is { } boot)
        {
            missing.Add(boot);
        }
        if (needs.HasFlag(RealGuestNeeds.StorageDaemon) && FindOnPath(StorageDaemonProgram) is null)
        {
            missing.Add($"{StorageDaemonProgram} is not on PATH (apt-get install qemu-system-common)");
        }
        if (needs.HasFlag(RealGuestNeeds.NetNamespace))
        {
            if (!Environment.IsPrivilegedProcess)
            {
                missing.Add("network namespaces need root");
            }
            if (FindOnPath("ip") is null)
            {
                missing.Add("ip is not on PATH (apt-get install iproute2)");
            }
            if (!File.Exists("/dev/net/tun"))
            {
                missing.Add("/dev/net/tun does not exist");
            }
        }
        return missing.Count == 0 ? null : "real-guest test needs what this machine lacks: " + string.Join("; ", missing);
    }

    /// <summary>The full path of <paramref name="program"/> on PATH, or null.</summary>
    public static string? FindOnPath(string program)
    {
        foreach (string directory in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin").Split(':'))
        {
            string candidate = Path.Combine(directory.Length == 0 ? "." : directory, program);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        return null;
    }

    /// <summary>
    /// The release string a bzImage names: the setup header's kernel_version field (offset 0x20E) points at it,
    /// 0x200 bytes on. Null when the file is not a bzImage with that field.
    /// </summary>
    public static string? ReadKernelRelease(string bzImage)
    {
        byte[] head = new byte[64 * 1024];
        int length;
        using (FileStream file = File.OpenRead(bzImage))
        {
            length = file.ReadAtLeast(head, head.Length, throwOnEndOfStream: false);
        }
        if (length < 0x210 || Encoding.ASCII.GetString(head, 0x202, 4) != "HdrS")
        {
            return null;
        }
        int pointer = BinaryPrimitives.ReadUInt16LittleEndian(head.AsSpan(0x20E)) + 0x200;
        if (pointer <= 0x200 || pointer >= length)
        {
            return null;
        }
        int end = head.AsSpan(pointer, length - pointer).IndexOfAny((byte)' ', (byte)0);
        return end <= 0 ? null : Encoding.ASCII.GetString(head, pointer, end);
    }

    private static (string? Kernel, string? Version, string? Missing) ProbeBoot()
    {
        var missing = new List<string>();
        if (!OperatingSystem.IsLinux() || System.Runtime.InteropServices.RuntimeInformation.OSArchitecture != System.Runtime.InteropServices.Architecture.X64)
        {
            return (null, null, "real guests run on x86-64 Linux only");
        }
        if (FindOnPath(Qemu) is null)
        {
            missing.Add($"{Qemu} is not on PATH (apt-get install qemu-system-x86)");
        }
        if (!File.Exists("/bin/busybox") && !File.Exists("/usr/bin/busybox"))
        {
            missing.Add("busybox is not installed (apt-get install busybox-static)");
        }
        foreach ((string program, string package) in new[] { ("modprobe", "kmod"), ("cpio", "cpio"), ("gzip", "gzip"), ("bash", "bash") })
        {
            if (FindOnPath(program) is null && !File.Exists("/usr/sbin/" + program) && !File.Exists("/sbin/" + program))
            {
                missing.Add($"{program} is not on PATH (apt-get install {package})");
            }
        }

        string? kernel = File.Exists("/vmlinuz")
            ? "/vmlinuz"
            : Directory.Exists("/boot")
                ? Directory.GetFiles("/boot", "vmlinuz-*").OrderDescending(StringComparer.Ordinal).FirstOrDefault()
                : null;
        string? version = null;
        if (kernel is null)
        {
            missing.Add("no /vmlinuz or /boot/vmlinuz-* (apt-get install linux-image-cloud-amd64)");
        }
        else
        {
            try
            {
                version = ReadKernelRelease(kernel);
            }
            catch (IOException e)
            {
                missing.Add($"{kernel} is unreadable: {e.Message}");
            }
            catch (UnauthorizedAccessException e)
            {
                missing.Add($"{kernel} is unreadable: {e.Message}");
            }
            if (version is null)
            {
                missing.Add($"{kernel} names no kernel release in its boot header");
            }
            else if (!File.Exists($"/lib/modules/{version}/modules.dep"))
            {
                missing.Add($"{kernel} is {version} but /lib/modules/{version}/modules.dep does not exist");
            }
        }
        return missing.Count == 0 ? (kernel, version, null) : (null, null, string.Join("; ", missing));
    }
}

/// <summary>
/// A fact that boots a real guest. xunit 2 has no dynamic skip, so the attribute checks the machine when the
/// test is discovered and sets <see cref="FactAttribute.Skip"/> to the reason when something is missing.
/// </summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false)]
public sealed class RealGuestFactAttribute : FactAttribute
{
    public RealGuestFactAttribute(RealGuestNeeds needs = RealGuestNeeds.Boot)
    {
        Needs = needs;
        if (RealGuestRequirements.SkipReason(needs) is { } reason)
        {
            Skip = reason;
        }
    }

    public RealGuestNeeds Needs { get; }
}

/// <summary>Real guests share two cores; the tests boot one at a time so their timings mean something.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class RealGuestCollection
{
    public const string Name = "real guest";
}
