using Lguest.Actors.Configuration;

namespace Lguest.Host.Tests;

/// <summary>Which form the command line takes, and what it launches, without starting a host.</summary>
public sealed class CliTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("lguest-cli-").FullName;
    private readonly StringWriter _output = new();
    private readonly StringWriter _error = new();

    private readonly string _kernel;

    // A kernel the loaders accept: the launch form is checked before anything starts, the kernel included.
    public CliTests() => _kernel = TestKernel.Write(_directory);

    private CliOutcome Parse(params string[] args) => Cli.Parse(args, _output, _error);

    [Fact]
    public void Config_form_reads_the_file_and_verbose_overrides_it()
    {
        string config = Path.Combine(_directory, "guest.hocon");
        File.WriteAllText(config, $"lguest {{\n  kernel = \"{_kernel}\"\n  engine = simulated\n}}\n");

        var quiet = Assert.IsType<CliOutcome.Launch>(Parse("--config", config));
        var verbose = Assert.IsType<CliOutcome.Launch>(Parse($"--config={config}", "--verbose"));

        Assert.Equal(EngineKind.Simulated, quiet.Settings.Engine);
        Assert.False(quiet.Settings.Verbose);
        Assert.True(verbose.Settings.Verbose);
        Assert.Equal("simulated", verbose.Config.GetString("lguest.engine"));
        Assert.Equal("", _error.ToString());
    }

    [Fact]
    public void Anything_else_is_the_seed_form()
    {
        var launch = Assert.IsType<CliOutcome.Launch>(Parse("--verbose", "--rng", "128", _kernel, "quiet"));

        Assert.True(launch.Settings.Verbose);
        Assert.Equal(128UL << 20, launch.Settings.MemoryBytes);
        Assert.Equal("quiet", launch.Settings.CommandLine);
        Assert.IsType<RngSettings>(launch.Settings.Devices[0]);
        Assert.IsType<ConsoleSettings>(launch.Settings.Devices[1]); // the console last, as the seed's setup_console() follows getopt
    }

    [Fact]
    public void Unknown_option_next_to_config_is_a_usage_error()
    {
        var exit = Assert.IsType<CliOutcome.Exit>(Parse("--config", "x.hocon", "--frobnicate"));

        Assert.Equal(2, exit.Code);
        Assert.StartsWith("lguest: arguments: ", _error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Help_goes_to_stdout_and_exits_0()
    {
        var exit = Assert.IsType<CliOutcome.Exit>(Parse("--help"));

        Assert.Equal(0, exit.Code);
        Assert.Contains("--config", _output.ToString(), StringComparison.Ordinal);
    }

    public void Dispose()
    {
        _output.Dispose();
        _error.Dispose();
        Directory.Delete(_directory, recursive: true);
    }
}
