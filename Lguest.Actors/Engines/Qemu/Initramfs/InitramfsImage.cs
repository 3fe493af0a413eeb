using System.ComponentModel;
using System.IO.Compression;
using System.Text;
using Lguest.Native.Boot.Initramfs;

namespace Lguest.Actors.Engines.Qemu.Initramfs;

/// <summary>
/// Lays out the guest's root file system as a gzip'd newc cpio: busybox with a symlink per applet in /bin, the
/// modules flat in /lib/modules with their load order in /etc/modules, /init and the shell script, and the empty
/// mount points /init needs. Entries go in a fixed order, so the same inputs give the same bytes.
/// </summary>
internal static class InitramfsImage
{
    private const uint Executable = 0x1ED; // 0755

    private static readonly string[] Directories =
        ["bin", "dev", "etc", "lib", "lib/modules", "proc", "root", "run", "sys", "tmp"];

    public static void Write(Stream output, BusyboxBinary busybox, IReadOnlyList<string> applets, IReadOnlyList<GuestModule> modules)
    {
        using var gzip = new GZipStream(output, CompressionLevel.Optimal, leaveOpen: true);
        using var archive = new NewcArchiveWriter(gzip, leaveOpen: true);
        foreach (string directory in Directories)
        {
            archive.AddDirectory(directory, directory is "tmp" ? 0x3FFu /* 1777 */ : 0x1EDu);
        }
        // The kernel opens /dev/console for /init's stdio before anything is mounted on /dev.
        archive.AddCharacterDevice("dev/console", major: 5, minor: 1);

        using (FileStream binary = File.OpenRead(busybox.Path))
        {
            archive.AddFile("bin/busybox", binary, binary.Length, Executable);
        }
        foreach (string applet in applets.Where(a => a != "busybox").Order(StringComparer.Ordinal))
        {
            archive.AddSymlink($"bin/{applet}", "busybox");
        }

        foreach (GuestModule module in modules)
        {
            archive.AddFile($"lib/modules/{module.Name}.ko", GuestModules.Contents(module));
        }
        archive.AddFile(GuestInitScripts.ModuleListPath, Encoding.UTF8.GetBytes(string.Concat(modules.Select(m => m.Name + "\n"))));
        archive.AddFile("etc/lguest-shell", Encoding.UTF8.GetBytes(GuestInitScripts.Shell + "\n"), Executable);
        archive.AddFile("init", Encoding.UTF8.GetBytes(GuestInitScripts.Init + "\n"), Executable);
        archive.Finish();
    }

    /// <summary>The applet names busybox was built with, from busybox --list; /bin holds a link for each.</summary>
    public static IReadOnlyList<string> Applets(BusyboxBinary busybox)
    {
        HostCommand.Result result;
        try
        {
            result = HostCommand.Run(busybox.Path, ["--list"]);
        }
        catch (Win32Exception e)
        {
            throw InitramfsErrors.CannotBuild($"cannot run {busybox.Path} --list: {e.Message}");
        }
        string[] applets = result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (result.ExitCode != 0 || !applets.Contains("sh") || !applets.Contains("init"))
        {
            throw InitramfsErrors.CannotBuild(
                $"{busybox.Path} --list does not offer both sh and init ({(result.ExitCode != 0 ? result.Reason(busybox.Path) : $"{applets.Length} applets")})");
        }
        if (applets.FirstOrDefault(a => a.Contains('/', StringComparison.Ordinal) || a is "." or "..") is { } odd)
        {
            throw InitramfsErrors.CannotBuild($"{busybox.Path} --list names an applet '{odd}' that cannot be a file name");
        }
        return applets;
    }
}
