namespace Lguest.Host.Tests;

/// <summary>
/// A config file with a syntax error never boots a half-read guest: exit 2, one line naming the file, the line
/// and the problem, and nothing on stdout.
/// </summary>
public sealed class HoconSyntaxTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("lguest-hocon-").FullName;

    [Theory]
    [InlineData("lguest {\n  engine = simulated\n  memory = 32M\n", 1, "'{' is never closed (expected '}' before the end of the file)")]
    [InlineData("lguest {\n  devices = [ { type = rng }\n}\n", 3, "'}' closes the '[' of line 2 (expected ']')")]
    [InlineData("lguest {\n  memory = 32M\n}\n}\n", 4, "'}' without a matching '{'")]
    [InlineData("lguest {\n  command-line = \"quiet\n}\n", 2, "unterminated string (a quoted string must end on its line)")]
    [InlineData("lguest {\n  engine = simulated\n  memory =\n}\n", 3, "a key has no value before '}'")]
    [InlineData("lguest {\n  memory = ${lguest.size\n}\n", 2, "unterminated substitution (\"${\" without \"}\" on its line)")]
    [InlineData("lguest {\n  engine = simulated\n  memory = 32M,,\n}\n", 3, "not valid HOCON: Unknown token at position 45")]
    public async Task A_syntax_error_exits_2_with_the_file_and_line(string hocon, int line, string problem)
    {
        string config = Path.Combine(_directory, "guest.hocon");
        await File.WriteAllTextAsync(config, hocon);

        HostProcess.Result result = await HostProcess.RunAsync("--config", config);

        Assert.Equal(2, result.ExitCode);
        Assert.Equal([$"lguest: --config: {config}:{line}: {problem}"], result.StderrLines);
        Assert.Equal("", result.Stdout);
    }

    [Fact]
    public async Task A_bad_value_exits_2_with_its_key_and_line()
    {
        string config = Path.Combine(_directory, "guest.hocon");
        await File.WriteAllTextAsync(config, "# a guest\nlguest {\n  engine = simulated\n\n  memory = lots\n}\n");

        HostProcess.Result result = await HostProcess.RunAsync("--config", config);

        Assert.Equal(2, result.ExitCode);
        Assert.Equal([$"lguest: lguest.memory: not a size: lots ({config}:5)"], result.StderrLines);
    }

    /// <summary>What the checker must not reject: the shipped examples' constructs, which Akka reads as intended.</summary>
    [Fact]
    public void Valid_constructs_pass_the_structure_check()
    {
        const string hocon = """"
            # comment with { and "
            // another } comment
            lguest {
              engine = "vhost-user" // trailing comment
              kernel = /boot/vmlinuz
              command-line = "console=hvc0 quote=\" brace={"
              note = """spans
              two { lines"""
              devices = [
                { type = block, path = "disk.img", socket = "blk.sock" }
                { type = net, address = "10.0.0.1", mac = "52:54:00:12:34:56" }
              ]
              memory = ${?LGUEST_MEMORY}
              list = [ a:b, c=d ]
              supervision {
                restart-window = 60s
              }
            }
            """";

        Assert.Null(Lguest.Actors.Configuration.HoconText.FindSyntaxError(hocon));
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
