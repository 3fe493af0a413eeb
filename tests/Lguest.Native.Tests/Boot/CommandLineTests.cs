using Lguest.Native.Boot;

namespace Lguest.Native.Tests.Boot;

public sealed class CommandLineTests
{
    [Theory]
    [InlineData(new string[0], "")]
    [InlineData(new[] { "root=/dev/vda" }, "root=/dev/vda")]
    [InlineData(new[] { "console=hvc0", "root=/dev/vda", "init=/bin/sh -x" }, "console=hvc0 root=/dev/vda init=/bin/sh -x")]
    [InlineData(new[] { "", "quiet" }, " quiet")]
    public void Words_are_joined_with_single_spaces(string[] args, string expected)
        => Assert.Equal(expected, CommandLine.Join(args));
}
