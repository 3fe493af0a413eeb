using Lguest.Native.Boot;
using Lguest.Native.Boot.Initramfs;

namespace Lguest.Native.Tests.Boot.Initramfs;

public sealed class KernelReleaseTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    [Fact]
    public void The_installed_kernel_names_the_modules_directory_it_was_built_for()
    {
        string target = Path.GetFileName(new FileInfo("/vmlinuz").ResolveLinkTarget(returnFinalTarget: true)?.FullName ?? "/vmlinuz");

        KernelRelease release = KernelRelease.Read("/vmlinuz");

        // Debian names the image vmlinuz-RELEASE, and the modules live in /lib/modules/RELEASE.
        Assert.Equal(target, $"vmlinuz-{release.Release}");
        Assert.True(Directory.Exists($"/lib/modules/{release.Release}"), release.Release);
        Assert.StartsWith(release.Release + " (", release.Banner, StringComparison.Ordinal);
    }

    [Fact]
    public void A_synthetic_bzImage_gives_the_first_word_of_its_version_string()
    {
        string kernel = _dir.Write("bzImage", new BzImageBuilder
        {
            KernelVersion = "5.10.0-99-test-amd64 (someone@example.org) #1 SMP Debian 5.10.999",
            Payload = new byte[512],
        }.Build());

        KernelRelease release = KernelRelease.Read(kernel);

        Assert.Equal("5.10.0-99-test-amd64", release.Release);
        Assert.Equal("5.10.0-99-test-amd64 (someone@example.org) #1 SMP Debian 5.10.999", release.Banner);
    }

    [Fact]
    public void A_version_string_with_nothing_after_the_release_is_the_release()
    {
        string kernel = _dir.Write("bzImage", new BzImageBuilder { KernelVersion = "6.6.6", Payload = new byte[16] }.Build());

        Assert.Equal("6.6.6", KernelRelease.Read(kernel).Release);
    }

    [Fact]
    public void A_zero_pointer_has_no_version()
        => AssertNoVersion(new BzImageBuilder { Payload = new byte[16] }.Build(), "pointer is 0");

    [Fact]
    public void A_pointer_past_the_setup_code_is_refused()
        => AssertNoVersion(
            new BzImageBuilder { SetupSectors = 1, KernelVersion = "6.1.0", KernelVersionAt = 0x600, Payload = new byte[4096] }.Build(),
            "beyond the setup code");

    [Fact]
    public void A_string_without_its_NUL_inside_the_setup_code_is_refused()
    {
        var builder = new BzImageBuilder { SetupSectors = 4, Payload = new byte[64] };
        builder.KernelVersionAt = builder.PayloadOffset - 4;
        builder.KernelVersion = "6.1.0-longer-than-four";
        byte[] image = builder.Build();
        image.AsSpan(builder.PayloadOffset).Fill((byte)'x'); // the NUL landed in the payload: overwrite it

        AssertNoVersion(image, "no terminating NUL");
    }

    [Fact]
    public void A_protocol_older_than_2_00_has_no_version_field()
        => AssertNoVersion(new BzImageBuilder { Version = 0x0104, KernelVersion = "6.1.0", Payload = new byte[16] }.Build(), "predates");

    [Fact]
    public void A_release_with_a_slash_is_refused_because_it_becomes_a_path()
        => AssertNoVersion(new BzImageBuilder { KernelVersion = "../../etc #1", Payload = new byte[16] }.Build(), "release name");

    [Fact]
    public void An_ELF_vmlinux_carries_no_setup_header_to_read()
        => AssertNoVersion(new ElfImageBuilder(is64: true).Build(), "ELF vmlinux, not a bzImage");

    [Fact]
    public void A_tiny_file_is_too_short()
        => AssertNoVersion(new byte[100], "too short");

    private void AssertNoVersion(byte[] image, string expected)
    {
        string path = _dir.Write("kernel", image);

        var e = Assert.Throws<BootImageException>(() => KernelRelease.Read(path));

        Assert.Equal(BootImageError.NotAKernel, e.Error);
        Assert.StartsWith(path + ": ", e.Message, StringComparison.Ordinal);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }
}
