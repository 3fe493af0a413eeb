using System.Globalization;
using Lguest.Host.Tests.RealGuest;
using Xunit.Abstractions;

namespace Lguest.Host.Tests.Switch;

/// <summary>
/// Issue 14 with real kernels: two guests under QEMU TCG, each the launcher's qemu engine with its NIC on a port of
/// one switch launcher (engine = vhost-user, lguest.switches), exactly as README's "Two guests on one segment" runs
/// them. Each test boots its guests at the same time and makes every check it can on those boots.
/// </summary>
[Collection(RealGuestCollection.Name)]
public sealed class TwoGuestSwitchTests(ITestOutputHelper output) : IDisposable
{
    private const int TransferMiB = 64;
    private const int Port = 5001;

    private readonly string _directory = CreateDirectory();

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    /// <summary>
    /// The switch runs as nobody with no capabilities: no tap, no bridge, no root. The guests reach each other in
    /// both directions, and 64 MiB of random bytes sent with busybox nc arrive with the sender's md5.
    /// </summary>
    [RealGuestFact]
    public void Two_guests_on_a_switch_without_root_ping_each_other_and_move_64_MiB_intact()
    {
        (string a, string b) = (Socket("a"), Socket("b"));
        using SwitchLauncher network = SwitchLauncher.Start(_directory, SwitchConfig(a, b, uplink: null), [a, b], SwitchLauncher.Unprivileged);
        (int uid, ulong capabilities) = network.Credentials();
        Assert.NotEqual(0, uid);
        Assert.Equal(0UL, capabilities);

        using SwitchGuest guestA = SwitchGuest.Start(output, _directory, "a", a, "10.203.0.2", "52:54:00:cb:00:02");
        using SwitchGuest guestB = SwitchGuest.Start(output, _directory, "b", b, "10.203.0.3", "52:54:00:cb:00:03");
        guestA.WaitUntilReady();
        guestB.WaitUntilReady();

        Assert.Equal("3/3", guestA.Ping(guestB.Address));
        Assert.Equal("3/3", guestB.Ping(guestA.Address));

        // A receiver's stdin must stay open: busybox nc stops reading the network once its stdin ends.
        guestB.Background($"sleep 600 | nc -l -p {Port} | md5sum > /tmp/received.md5");
        Assert.Equal("listening", guestB.Run($"while ! netstat -ltn | grep -q ':{Port} '; do sleep 0.1; done; echo listening"));
        string sent = guestA.Run(
            $"dd if=/dev/urandom of=/tmp/sent bs=1M count={TransferMiB} 2>/dev/null && md5sum < /tmp/sent && nc {guestB.Address} {Port} < /tmp/sent && echo sent");
        string received = guestB.Run("while [ ! -s /tmp/received.md5 ]; do sleep 0.2; done; cat /tmp/received.md5");

        Assert.EndsWith("sent", sent, StringComparison.Ordinal);
        Assert.Matches("^[0-9a-f]{32} ", sent);
        Assert.Equal(sent[..32], received[..32]);
        Assert.Equal(0, guestA.PowerOff());
        Assert.Equal(0, guestB.PowerOff());
        Assert.False(network.HasExited, $"the switch died:\n{network.Stderr}");
        Assert.True(network.Stop() == 0, network.Stderr);
        output.WriteLine(network.Stderr);
    }

    /// <summary>
    /// The switch has an uplink (a tap in a namespace of its own, so the test needs root). Guest A pings the uplink
    /// all along; guest B's launcher is killed with SIGKILL (its QEMU dies with it) and started again on the same
    /// port. A loses no reply while B is gone, and B, back, reaches A and the uplink, and A reaches B.
    /// </summary>
    [RealGuestFact(RealGuestNeeds.NetNamespace)]
    public void A_guest_killed_and_restarted_on_its_port_talks_again_while_the_other_keeps_pinging_the_uplink()
    {
        string suffix = Guid.NewGuid().ToString("N")[..6];
        string netns = $"lguest-sw-{Environment.ProcessId}-{suffix}";
        const string Uplink = "10.204.0.1";
        HostTools.Check("ip", "netns", "add", netns);
        try
        {
            (string a, string b) = (Socket("a"), Socket("b"));
            using SwitchLauncher network = SwitchLauncher.Start(_directory,
                SwitchConfig(a, b, uplink: $$"""{ address = "{{Uplink}}", prefix-length = 24, tap = "lgsw{{suffix}}" }"""),
                [a, b], ["ip", "netns", "exec", netns]);
            using SwitchGuest guestA = SwitchGuest.Start(output, _directory, "a", a, "10.204.0.2", "52:54:00:cc:00:02");
            SwitchGuest guestB = SwitchGuest.Start(output, _directory, "b", b, "10.204.0.3", "52:54:00:cc:00:03");
            try
            {
                guestA.WaitUntilReady();
                guestB.WaitUntilReady();
                Assert.Equal("3/3", guestA.Ping(guestB.Address));
                Assert.Equal("3/3", guestB.Ping(Uplink));

                string pinger = guestA.Run($"ping -i 0.5 {Uplink} > /tmp/uplink.log 2>&1 < /dev/null & echo $!");
                guestA.Run("while [ $(grep -c 'bytes from' /tmp/uplink.log) -lt 2 ]; do sleep 0.2; done; echo replying");
                guestB.KillLauncher();
                guestB.Dispose();
                int repliesWhenKilled = int.Parse(guestA.Run("grep -c 'bytes from' /tmp/uplink.log"), CultureInfo.InvariantCulture);

                guestB = SwitchGuest.Start(output, _directory, "b", b, "10.204.0.3", "52:54:00:cc:00:03");
                guestB.WaitUntilReady();
                Assert.Equal("3/3", guestB.Ping(guestA.Address));
                Assert.Equal("3/3", guestB.Ping(Uplink));
                Assert.Equal("3/3", guestA.Ping(guestB.Address));

                // SIGINT makes busybox ping print its totals; only the ping in flight at that moment may be missing.
                string totals = guestA.Run($"kill -INT {pinger}; while ! grep -q 'packets received' /tmp/uplink.log; do sleep 0.1; done; sed -n '{SwitchGuest.PingSummary}' /tmp/uplink.log");
                string[] counts = totals.Split('/');
                (int received, int transmitted) = (int.Parse(counts[0], CultureInfo.InvariantCulture), int.Parse(counts[1], CultureInfo.InvariantCulture));
                output.WriteLine($"guest A's ping of the uplink: {received}/{transmitted} replies, {repliesWhenKilled} of them before B was killed");
                Assert.True(received > repliesWhenKilled, $"no reply from the uplink after guest B was killed ({totals})");
                Assert.True(transmitted - received <= 1, $"guest A lost pings to the uplink while B was killed and restarted: {totals}");

                Assert.Equal(0, guestB.PowerOff());
                Assert.Equal(0, guestA.PowerOff());
                Assert.False(network.HasExited, $"the switch died:\n{network.Stderr}");
                Assert.True(network.Stop() == 0, network.Stderr);
                output.WriteLine(network.Stderr);
            }
            finally
            {
                guestB.Dispose();
            }
        }
        finally
        {
            HostTools.Run("ip", "netns", "del", netns);
        }
    }

    /// <summary>What hocon/switch.hocon says, with this test's sockets (and an uplink when given).</summary>
    private static string SwitchConfig(string a, string b, string? uplink) => $$"""
        lguest {
          engine = vhost-user
          switches = [ { name = lan0{{(uplink is null ? "" : $", uplink = {uplink}")}} } ]
          devices = [
            { type = net, switch = lan0, socket = "{{a}}" }
            { type = net, switch = lan0, socket = "{{b}}" }
          ]
        }
        """;

    private string Socket(string guest) => Path.Combine(_directory, $"lan0-{guest}.sock");

    /// <summary>Open to every user: an unprivileged switch creates its sockets here.</summary>
    private static string CreateDirectory()
    {
        string directory = Directory.CreateTempSubdirectory("lguest-switch-guests-").FullName;
        if (OperatingSystem.IsLinux())
        {
            File.SetUnixFileMode(directory, (UnixFileMode)0x1FF);
        }
        return directory;
    }
}
