using System.Diagnostics;
using Lguest.Native.Tests.Boot;

namespace Lguest.Actors.Tests.Engines.Qemu.Initramfs;

/// <summary>
/// A module tree for a made-up kernel release, indexed by the real depmod, with a bzImage that names the release:
/// modprobe -d ROOT then answers for it exactly as for an installed kernel. The modules are copies of the
/// installed kernel's, optionally gzip'd, and any of them can be left out.
/// </summary>
internal sealed class FakeModuleTree : IDisposable
{
    /// <param name="xz">Compress each module with xz, as distributions that ship .ko.xz do (Debian's depmod
    /// indexes .ko.xz and .ko.zst, not .ko.gz).</param>
    public FakeModuleTree(string release, IEnumerable<string> installedModulePaths, bool xz = false)
    {
        Release = release;
        Root = Directory.CreateTempSubdirectory("lguest-modules-").FullName;
        string directory = Path.Combine(Root, "lib", "modules", release);
        string installed = $"/lib/modules/{Lguest.Native.Boot.Initramfs.KernelRelease.Read("/vmlinuz").Release}/";
        foreach (string source in installedModulePaths)
        {
            string target = Path.Combine(directory, source[installed.Length..]);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(source, target);
            if (xz)
            {
                Run("xz", "-0", target);
            }
        }
        Directory.CreateDirectory(directory);
        Run("depmod", "-b", Root, release);
        Kernel = Path.Combine(Root, "bzImage");
        File.WriteAllBytes(Kernel, new BzImageBuilder
        {
            KernelVersion = $"{release} (test@example.org) #1 SMP",
            Payload = new byte[512],
        }.Build());
    }

    public string Release { get; }

    public string Root { get; }

    /// <summary>A bzImage whose kernel_version names <see cref="Release"/>.</summary>
    public string Kernel { get; }

    /// <summary>What modprobe says the installed kernel loads for <paramref name="module"/>, dependencies first.</summary>
    public static IReadOnlyList<string> InstalledDependencies(string module)
    {
        string release = Lguest.Native.Boot.Initramfs.KernelRelease.Read("/vmlinuz").Release;
        return Run("modprobe", "-S", release, "--show-depends", module)
            .Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Where(line => line.StartsWith("insmod ", StringComparison.Ordinal))
            .Select(line => line.Split(' ')[1])
            .ToList();
    }

    public void Dispose() => Directory.Delete(Root, recursive: true);

    public static string Run(string program, params string[] args)
    {
        var start = new ProcessStartInfo(program, args) { RedirectStandardOutput = true, RedirectStandardError = true };
        using Process process = Process.Start(start)!;
        Task<string> error = process.StandardError.ReadToEndAsync();
        string output = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode == 0
            ? output
            : throw new InvalidOperationException($"{program} {string.Join(' ', args)}: {error.Result}");
    }
}
