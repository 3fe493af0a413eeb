using Lguest.Actors.Configuration;
using Lguest.Actors.Engines.Qemu.Initramfs;
using Lguest.Native.Boot.Initramfs;
using Lguest.Native.Tests.Boot;
using Lguest.Native.Tests.Boot.Initramfs;

namespace Lguest.Actors.Tests.Engines.Qemu.Initramfs;

/// <summary>Builds against the installed kernel (/vmlinuz), busybox-static and modprobe, as the launcher does.</summary>
public sealed class GuestInitramfsTests : IDisposable
{
    private static readonly Lazy<string> InstalledRelease = new(() => KernelRelease.Read("/vmlinuz").Release);

    private readonly string _cache = Directory.CreateTempSubdirectory("lguest-initramfs-").FullName;

    public void Dispose() => Directory.Delete(_cache, recursive: true);

    [Fact]
    public void The_first_call_builds_an_initramfs_in_the_cache_and_the_second_returns_it_unchanged()
    {
        string first = GuestInitramfs.Ensure(new InitramfsRequest("/vmlinuz", _cache));
        DateTime written = File.GetLastWriteTimeUtc(first);
        byte[] bytes = File.ReadAllBytes(first);

        string second = GuestInitramfs.Ensure(new InitramfsRequest("/vmlinuz", _cache));

        Assert.Equal(first, second);
        Assert.Equal(written, File.GetLastWriteTimeUtc(second));
        Assert.Equal(bytes, File.ReadAllBytes(second));
        Assert.Equal([Path.GetFileName(first)], Directory.GetFiles(_cache).Select(Path.GetFileName));
        Assert.StartsWith($"initramfs-{InstalledRelease.Value}-", Path.GetFileName(first), StringComparison.Ordinal);
    }

    [Fact]
    public void The_archive_holds_busybox_its_applets_the_scripts_and_a_console_node()
    {
        IReadOnlyList<NewcEntry> entries = NewcReader.ReadGzip(GuestInitramfs.Ensure(new InitramfsRequest("/vmlinuz", _cache)));
        Dictionary<string, NewcEntry> byName = entries.ToDictionary(e => e.Name);

        Assert.Equal(File.ReadAllBytes("/bin/busybox"), byName["bin/busybox"].Data);
        Assert.Equal(0x1EDu, byName["bin/busybox"].Permissions);
        foreach (string applet in (string[])["sh", "init", "poweroff", "reboot", "insmod", "ip", "stty", "setsid", "dmesg"])
        {
            Assert.Equal((0xA000u, "busybox"), (byName[$"bin/{applet}"].Type, byName[$"bin/{applet}"].Text));
        }
        Assert.Equal((0x8000u, 0x1EDu), (byName["init"].Type, byName["init"].Permissions));
        Assert.StartsWith("#!/bin/sh\n", byName["init"].Text, StringComparison.Ordinal);
        Assert.Equal(0x1EDu, byName["etc/lguest-shell"].Permissions);
        Assert.Contains("echo \"lguest: guest ready\"", byName["etc/lguest-shell"].Text, StringComparison.Ordinal);
        Assert.Equal((0x2000u, 5u, 1u), (byName["dev/console"].Type, byName["dev/console"].RdevMajor, byName["dev/console"].RdevMinor));
        Assert.All(["proc", "sys", "dev", "tmp", "run", "root", "lib/modules"], d => Assert.Equal(0x4000u, byName[d].Type));
        // A directory comes before anything inside it, or the kernel cannot create the entry.
        Assert.True(entries.ToList().FindIndex(e => e.Name == "bin") < entries.ToList().FindIndex(e => e.Name == "bin/busybox"));
    }

    [Fact]
    public void The_installed_kernels_modules_are_in_modprobes_order_and_each_loads_after_its_dependencies()
    {
        IReadOnlyList<NewcEntry> entries = NewcReader.ReadGzip(GuestInitramfs.Ensure(new InitramfsRequest("/vmlinuz", _cache)));
        string[] order = entries.Single(e => e.Name == "etc/modules").Text.Split('\n', StringSplitOptions.RemoveEmptyEntries);

        // The union of modprobe --show-depends over the wanted modules, each module at its first place.
        List<string> expected = InitramfsHost.GuestModules
            .SelectMany(FakeModuleTree.InstalledDependencies)
            .Distinct()
            .ToList();
        Assert.Equal(expected.Select(p => Path.GetFileName(p)[..^3]), order);
        // qemu-facts.md: the console's chain.
        Assert.Equal(["virtio_ring", "virtio", "virtio_pci_modern_dev", "virtio_pci_legacy_dev", "virtio_pci"], order.Take(5));
        Assert.Contains("virtio_console", order);
        Assert.Contains("pvpanic-pci", order);
        foreach ((string name, string host) in order.Zip(expected))
        {
            Assert.Equal(File.ReadAllBytes(host), entries.Single(e => e.Name == $"lib/modules/{name}.ko").Data);
            string[] dependencies = FakeModuleTree.Run("modinfo", "-F", "depends", host).Trim()
                .Split(',', StringSplitOptions.RemoveEmptyEntries);
            Assert.All(dependencies, d => Assert.True(
                Array.FindIndex(order, m => m.Replace('-', '_') == d.Replace('-', '_')) < Array.IndexOf(order, name),
                $"{name} needs {d}, which loads later (order: {string.Join(' ', order)})"));
        }
    }

    [Fact]
    public void Xz_compressed_modules_go_in_uncompressed()
    {
        List<string> installed = InitramfsHost.GuestModules.SelectMany(FakeModuleTree.InstalledDependencies).Distinct().ToList();
        using var tree = new FakeModuleTree("9.9.9-xz", installed, xz: true);

        string path = GuestInitramfs.Ensure(new InitramfsRequest(tree.Kernel, _cache), new InitramfsHost(tree.Root, null));

        IReadOnlyList<NewcEntry> entries = NewcReader.ReadGzip(path);
        Assert.StartsWith("initramfs-9.9.9-xz-", Path.GetFileName(path), StringComparison.Ordinal);
        Assert.Equal(File.ReadAllBytes(installed[0]), entries.Single(e => e.Name == "lib/modules/virtio_ring.ko").Data);
        Assert.Equal(installed.Count, entries.Count(e => e.Name.StartsWith("lib/modules/", StringComparison.Ordinal) && e.Name.EndsWith(".ko", StringComparison.Ordinal)));
    }

    [Fact]
    public void A_different_busybox_builds_a_second_initramfs_beside_the_first()
    {
        string busyboxCopy = Path.Combine(_cache, "busybox-copy");
        File.Copy("/bin/busybox", busyboxCopy);
        string first = GuestInitramfs.Ensure(new InitramfsRequest("/vmlinuz", _cache, busyboxCopy));
        // Same program, other bytes: a rebuilt busybox must not reuse the old initramfs.
        File.AppendAllText(busyboxCopy, "\0");

        string second = GuestInitramfs.Ensure(new InitramfsRequest("/vmlinuz", _cache, busyboxCopy));

        Assert.NotEqual(first, second);
        Assert.True(File.Exists(first));
        Assert.Equal(File.ReadAllBytes(busyboxCopy), NewcReader.ReadGzip(second).Single(e => e.Name == "bin/busybox").Data);
    }

    [Fact]
    public void The_cache_key_changes_with_the_scripts_version_the_kernel_build_busybox_and_the_module_tree()
    {
        var kernel = new KernelRelease("6.1.0-1", "6.1.0-1 (x) #1 SMP 2026-01-01");
        var busybox = new BusyboxBinary("/bin/busybox", "aa");
        InitramfsHost host = InitramfsHost.Default;
        string name = GuestInitramfs.CacheFileName(kernel, busybox, host, scriptVersion: 1);

        Assert.Equal(name, GuestInitramfs.CacheFileName(kernel, busybox with { Path = "/usr/bin/busybox" }, host, scriptVersion: 1));
        Assert.NotEqual(name, GuestInitramfs.CacheFileName(kernel, busybox, host, scriptVersion: 2));
        Assert.NotEqual(name, GuestInitramfs.CacheFileName(kernel with { Banner = "6.1.0-1 (x) #2 SMP 2026-02-02" }, busybox, host, 1));
        Assert.NotEqual(name, GuestInitramfs.CacheFileName(kernel, busybox with { Sha256 = "bb" }, host, 1));
        Assert.NotEqual(name, GuestInitramfs.CacheFileName(kernel, busybox, host with { ModulesRoot = "/other" }, 1));
        Assert.Matches("^initramfs-6\\.1\\.0-1-[0-9a-f]{16}\\.cpio\\.gz$", name);
    }

    [Fact]
    public void A_cache_hit_runs_no_modprobe()
    {
        string built = GuestInitramfs.Ensure(new InitramfsRequest("/vmlinuz", _cache));

        // With no modprobe to run, only a hit can succeed.
        string hit = GuestInitramfs.Ensure(new InitramfsRequest("/vmlinuz", _cache), InitramfsHost.Default with { Modprobe = "/nonexistent/modprobe" });

        Assert.Equal(built, hit);
    }

    [Fact]
    public void Launchers_racing_on_an_empty_cache_all_get_the_same_whole_file_and_leave_no_temporaries()
    {
        string[] paths = Enumerable.Range(0, 3)
            .AsParallel()
            .WithDegreeOfParallelism(3)
            .Select(_ => GuestInitramfs.Ensure(new InitramfsRequest("/vmlinuz", _cache)))
            .ToArray();

        Assert.Single(paths.Distinct());
        Assert.Equal([Path.GetFileName(paths[0])], Directory.GetFiles(_cache).Select(Path.GetFileName));
        Assert.Contains(NewcReader.ReadGzip(paths[0]), e => e.Name == "init");
    }

    [Fact]
    public void A_missing_cache_directory_is_created()
    {
        string nested = Path.Combine(_cache, "a", "b");

        string path = GuestInitramfs.Ensure(new InitramfsRequest("/vmlinuz", nested));

        Assert.Equal(nested, Path.GetDirectoryName(path));
    }

    [Fact]
    public void A_missing_busybox_is_a_configuration_error_naming_it()
        => AssertRefused(new InitramfsRequest("/vmlinuz", "unused", "/nonexistent/busybox"), "lguest.initrd", "busybox /nonexistent/busybox does not exist");

    [Fact]
    public void A_dynamically_linked_busybox_is_refused_as_the_script_refuses_it()
        => AssertRefused(new InitramfsRequest("/vmlinuz", "unused", "/bin/ls"), "lguest.initrd", "is dynamically linked");

    [Fact]
    public void A_busybox_that_is_not_ELF_is_refused()
    {
        string script = Path.Combine(_cache, "busybox");
        File.WriteAllText(script, "#!/bin/sh\necho not busybox\n");

        AssertRefused(new InitramfsRequest("/vmlinuz", _cache, script), "lguest.initrd", "is not an ELF executable");
    }

    [Fact]
    public void A_kernel_without_installed_modules_is_refused_naming_the_directory()
    {
        string kernel = Path.Combine(_cache, "bzImage");
        File.WriteAllBytes(kernel, new BzImageBuilder { KernelVersion = "0.0.1-none (x) #1", Payload = new byte[16] }.Build());

        AssertRefused(new InitramfsRequest(kernel, _cache), "lguest.initrd", "/lib/modules/0.0.1-none does not exist");
    }

    [Fact]
    public void A_module_missing_from_the_kernel_is_refused_naming_the_module()
    {
        // Only virtio_pci's chain is there: virtio_blk, the next one wanted, is not.
        using var tree = new FakeModuleTree("9.9.9-partial", FakeModuleTree.InstalledDependencies("virtio_pci"));

        var e = Assert.Throws<ConfigurationException>(
            () => GuestInitramfs.Ensure(new InitramfsRequest(tree.Kernel, _cache), new InitramfsHost(tree.Root, null)));

        Assert.Equal("lguest.initrd", e.Key);
        Assert.Contains("kernel 9.9.9-partial has no module virtio_blk", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_modprobe_is_refused_with_the_package_to_install()
    {
        var e = Assert.Throws<ConfigurationException>(() => GuestInitramfs.Ensure(
            new InitramfsRequest("/vmlinuz", _cache), InitramfsHost.Default with { Modprobe = "/nonexistent/modprobe" }));

        Assert.Equal("lguest.initrd", e.Key);
        Assert.Contains("cannot run /nonexistent/modprobe", e.Message, StringComparison.Ordinal);
        Assert.Contains("kmod", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_kernel_that_is_not_a_bzImage_is_an_error_about_the_kernel()
    {
        string notKernel = Path.Combine(_cache, "notes.txt");
        File.WriteAllText(notKernel, new string('x', 4096));

        AssertRefused(new InitramfsRequest(notKernel, _cache), "lguest.kernel", "no \"HdrS\"");
    }

    [Fact]
    public void A_missing_kernel_is_an_error_about_the_kernel()
        => AssertRefused(new InitramfsRequest("/nonexistent/vmlinuz", _cache), "lguest.kernel", "file not found: /nonexistent/vmlinuz");

    [Fact]
    public void Every_error_is_one_line()
    {
        var e = Assert.Throws<ConfigurationException>(
            () => GuestInitramfs.Ensure(new InitramfsRequest("/vmlinuz", _cache, "/bin/ls")));

        Assert.DoesNotContain('\n', e.Message);
        Assert.StartsWith("lguest.initrd: ", e.Message, StringComparison.Ordinal);
    }

    private static void AssertRefused(InitramfsRequest request, string key, string expected)
    {
        var e = Assert.Throws<ConfigurationException>(() => GuestInitramfs.Ensure(request));

        Assert.Equal(key, e.Key);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }
}
