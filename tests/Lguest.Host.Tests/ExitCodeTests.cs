namespace Lguest.Host.Tests;

/// <summary>Usage and config errors: exit code 2, one line on stderr naming the problem, nothing on stdout.</summary>
public sealed class ExitCodeTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("lguest-host-").FullName;

    private string ConfigFile(string hocon)
    {
        string path = Path.Combine(_directory, $"{Guid.NewGuid():N}.hocon");
        File.WriteAllText(path, hocon);
        return path;
    }

    private string Kernel()
    {
        string path = Path.Combine(_directory, "vmlinux");
        File.WriteAllBytes(path, new byte[64]);
        return path;
    }

    [Theory]
    [InlineData("engine = kvm", "lguest: lguest.engine: expected auto, lguest, qemu, simulated, vhost-user or lguest-model, got 'kvm'")]
    [InlineData("memory = 12Q", "lguest: lguest.memory: not a size: 12Q")]
    [InlineData("memroy = 64M", "lguest: lguest.memroy: unknown key (reference.conf lists every key)")]
    public async Task Bad_config_exits_2_naming_the_key_and_its_line(string line, string expected)
    {
        string config = ConfigFile($"lguest {{\n  kernel = \"{Kernel()}\"\n  {line}\n}}\n");

        HostProcess.Result result = await HostProcess.RunAsync("--config", config);

        Assert.Equal(2, result.ExitCode);
        Assert.Equal([$"{expected} ({config}:3)"], result.StderrLines);
        Assert.Equal("", result.Stdout);
    }

    [Fact]
    public async Task A_kernel_that_is_not_a_kernel_exits_2_in_the_seed_form_whichever_engine_auto_picks()
    {
        // 64 zero bytes: neither ELF nor bzImage. Under auto the simulated engine (or QEMU's) would be picked; the
        // verdict must come before either starts, not as a guest that died.
        HostProcess.Result result = await HostProcess.RunAsync("--rng", "64", Kernel());

        Assert.Equal(2, result.ExitCode);
        string line = Assert.Single(result.StderrLines);
        Assert.StartsWith($"lguest: lguest.kernel: {Kernel()}", line, StringComparison.Ordinal);
        Assert.Equal("", result.Stdout);
    }

    [Fact]
    public async Task A_kernel_that_is_not_a_kernel_exits_2_under_the_simulated_engine()
    {
        string config = ConfigFile($"lguest {{\n  engine = simulated\n  kernel = \"{Kernel()}\"\n}}\n");

        HostProcess.Result result = await HostProcess.RunAsync("--config", config);

        Assert.Equal(2, result.ExitCode);
        Assert.StartsWith("lguest: lguest.kernel:", Assert.Single(result.StderrLines), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_net_device_on_an_external_back_end_exits_2_outside_the_qemu_engine()
    {
        string kernel = TestKernel.Write(_directory);
        string config = ConfigFile(
            $"lguest {{\n  engine = simulated\n  kernel = \"{kernel}\"\n  devices = [ {{ type = net, vhost-user-socket = \"{_directory}/lan0.sock\" }} ]\n}}\n");

        HostProcess.Result result = await HostProcess.RunAsync("--config", config);

        Assert.Equal(2, result.ExitCode);
        Assert.Equal(
            [$"lguest: lguest.devices[0].vhost-user-socket: only the qemu engine attaches a guest to an external vhost-user back end (the engine is simulated) ({config}:4)"],
            result.StderrLines);
    }

    [Fact]
    public async Task Verbose_option_is_accepted_and_the_config_still_checked()
    {
        string config = ConfigFile("lguest.engine = kvm\n");

        HostProcess.Result result = await HostProcess.RunAsync("--config", config, "--verbose");

        Assert.Equal(2, result.ExitCode);
        Assert.Equal([$"lguest: lguest.engine: expected auto, lguest, qemu, simulated, vhost-user or lguest-model, got 'kvm' ({config}:1)"], result.StderrLines);
    }

    [Fact]
    public async Task Missing_config_file_exits_2()
    {
        string missing = Path.Combine(_directory, "absent.hocon");

        HostProcess.Result result = await HostProcess.RunAsync("--config", missing);

        Assert.Equal(2, result.ExitCode);
        Assert.Equal([$"lguest: --config: file not found: {missing}"], result.StderrLines);
    }

    [Fact]
    public async Task No_arguments_exits_2_with_usage()
    {
        HostProcess.Result result = await HostProcess.RunAsync();

        Assert.Equal(2, result.ExitCode);
        Assert.Equal("lguest: arguments: missing MEM_MB and vmlinux", result.StderrLines[0]);
        Assert.Contains(result.StderrLines, line => line.StartsWith("usage: lguest ", StringComparison.Ordinal));
        Assert.Equal("", result.Stdout);
    }

    [Fact]
    public async Task Seed_arguments_are_validated_like_config()
    {
        HostProcess.Result result = await HostProcess.RunAsync("--block=/no/such/disk.img", "64", Kernel());

        Assert.Equal(2, result.ExitCode);
        Assert.Equal(["lguest: lguest.devices[0].path: file not found: /no/such/disk.img"], result.StderrLines);
    }

    [Fact]
    public async Task Unknown_seed_option_exits_2_with_usage()
    {
        HostProcess.Result result = await HostProcess.RunAsync("--frobnicate", "64", "vmlinux");

        Assert.Equal(2, result.ExitCode);
        Assert.Equal("lguest: arguments: unrecognized option '--frobnicate'", result.StderrLines[0]);
        Assert.Contains(result.StderrLines, line => line.StartsWith("usage: lguest ", StringComparison.Ordinal));
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
