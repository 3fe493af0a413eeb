using System.ComponentModel;
using System.IO.Compression;

namespace Lguest.Actors.Engines.Qemu.Initramfs;

/// <summary>One kernel module for the initramfs: the name /init loads it by and where its file is on the host.</summary>
internal sealed record GuestModule(string Name, string HostPath);

/// <summary>
/// The guest kernel's modules for our devices, in an order insmod can load them. modprobe works the order out
/// (--show-depends prints each module's dependencies first, one module per call); the union keeps each module's
/// first place. Modules built into the kernel come out as "builtin" lines and need nothing.
/// </summary>
internal static class GuestModules
{
    public static IReadOnlyList<GuestModule> Resolve(string release, InitramfsHost host)
    {
        string directory = host.ModulesDirectory(release);
        if (!Directory.Exists(directory))
        {
            throw InitramfsErrors.CannotBuild($"{directory} does not exist: the modules of kernel {release} are not installed");
        }
        string modprobe = host.Modprobe ?? FindModprobe()
            ?? throw InitramfsErrors.CannotBuild("modprobe not found in PATH, /sbin or /usr/sbin (apt-get install kmod)");

        var modules = new List<GuestModule>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (string wanted in InitramfsHost.GuestModules)
        {
            foreach (string path in Dependencies(modprobe, release, host.ModulesRoot, wanted))
            {
                if (seen.Add(path))
                {
                    modules.Add(new GuestModule(ModuleName(path), path));
                }
            }
        }
        return modules;
    }

    /// <summary>The module's file, uncompressed: busybox insmod takes plain ELF.</summary>
    public static byte[] Contents(GuestModule module)
    {
        string path = module.HostPath;
        if (path.EndsWith(".ko", StringComparison.Ordinal))
        {
            return File.ReadAllBytes(path);
        }
        if (path.EndsWith(".ko.gz", StringComparison.Ordinal))
        {
            using var gzip = new GZipStream(File.OpenRead(path), CompressionMode.Decompress);
            using var plain = new MemoryStream();
            gzip.CopyTo(plain);
            return plain.ToArray();
        }
        string tool = path.EndsWith(".ko.xz", StringComparison.Ordinal) ? "xz"
            : path.EndsWith(".ko.zst", StringComparison.Ordinal) ? "zstd"
            : throw InitramfsErrors.CannotBuild($"module file {path}: not .ko, .ko.gz, .ko.xz or .ko.zst");
        return Decompress(tool, path);
    }

    private static IEnumerable<string> Dependencies(string modprobe, string release, string root, string module)
    {
        HostCommand.Result result;
        try
        {
            // One module per call: modprobe takes any further words as that module's parameters.
            result = HostCommand.Run(modprobe, ["-d", root, "-S", release, "--show-depends", module]);
        }
        catch (Win32Exception e)
        {
            throw InitramfsErrors.CannotBuild($"cannot run {modprobe}: {e.Message} (apt-get install kmod)");
        }
        if (result.ExitCode != 0)
        {
            throw InitramfsErrors.CannotBuild($"kernel {release} has no module {module} ({result.Reason("modprobe")})");
        }
        foreach (string line in result.Output.Split('\n'))
        {
            string[] words = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (words.Length >= 2 && words[0] == "insmod")
            {
                yield return words[1];
            }
        }
    }

    /// <summary>"virtio_pci" from ".../virtio_pci.ko.xz"; "virtio-rng" keeps its dash, as its file has one.</summary>
    private static string ModuleName(string path)
    {
        string name = Path.GetFileName(path);
        return name[..name.IndexOf(".ko", StringComparison.Ordinal)];
    }

    private static string? FindModprobe()
    {
        IEnumerable<string> directories = (Environment.GetEnvironmentVariable("PATH") ?? "")
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/sbin", "/usr/sbin"]);
        return directories.Select(dir => Path.Combine(dir, "modprobe")).FirstOrDefault(File.Exists);
    }

    private static byte[] Decompress(string tool, string path)
    {
        HostCommand.Result result;
        try
        {
            result = HostCommand.Run(tool, ["-dc", path]);
        }
        catch (Win32Exception e)
        {
            throw InitramfsErrors.CannotBuild($"cannot run {tool} to decompress {path}: {e.Message}");
        }
        return result.ExitCode == 0
            ? result.OutputBytes
            : throw InitramfsErrors.CannotBuild($"cannot decompress {path}: {result.Reason(tool)}");
    }
}
