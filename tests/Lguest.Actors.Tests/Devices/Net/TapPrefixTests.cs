using System.Diagnostics;
using Lguest.Actors.Configuration;
using Lguest.Actors.Devices.Net;
using Lguest.Native.Interop;

namespace Lguest.Actors.Tests.Devices.Net;

/// <summary>
/// The tap's host address gets the configured prefix, and the host routes only that subnet to it. The tap is made
/// in a network namespace of the test's own (a thread joins it to create the tap), so no route of the machine's
/// changes, even for a moment.
/// </summary>
public sealed class TapPrefixTests
{
    [TapFact]
    public void The_tap_gets_the_configured_prefix_and_only_that_subnet_is_routed_to_it()
    {
        using var ns = new ScratchNamespace();

        (string[] addresses, string[] routes) = ns.AddressesAndRoutesOfTap(new NetSettings("10.213.7.1", null, null, "lgp%d") { PrefixLength = 24 });

        Assert.Equal(["10.213.7.1/24"], addresses);
        Assert.Equal(["10.213.7.0/24"], routes);
    }

    [TapFact]
    public void A_wider_prefix_is_honoured_too_and_the_seeds_classful_8_never_appears()
    {
        using var ns = new ScratchNamespace();

        (string[] addresses, string[] routes) = ns.AddressesAndRoutesOfTap(new NetSettings("10.213.0.1", null, null, "lgp%d") { PrefixLength = 20 });

        Assert.Equal(["10.213.0.1/20"], addresses);
        Assert.Equal(["10.213.0.0/20"], routes);
        Assert.DoesNotContain("10.0.0.0/8", routes);
    }

    /// <summary>A network namespace named lgtest-tap-RANDOM, deleted with everything in it on dispose.</summary>
    private sealed class ScratchNamespace : IDisposable
    {
        private readonly string _name = $"lgtest-tap-{Guid.NewGuid().ToString("N")[..10]}";

        public ScratchNamespace() => Ip("netns", "add", _name);

        /// <summary>Opens a tap inside the namespace and reads back its IPv4 addresses and the routes through it.</summary>
        public (string[] Addresses, string[] Routes) AddressesAndRoutesOfTap(NetSettings settings)
        {
            TapInterface? tap = null;
            Exception? failure = null;
            // setns moves only the calling thread, so a thread of our own joins the namespace and ends there.
            var thread = new Thread(() =>
            {
                try
                {
                    using FileDescriptor handle = FileDescriptor.Open($"/run/netns/{_name}", LibC.O_RDONLY);
                    if (Tmds.Linux.LibC.setns(handle.Number, Tmds.Linux.LibC.CLONE_NEWNET) != 0)
                    {
                        throw new InvalidOperationException($"setns into {_name} failed");
                    }
                    tap = TapInterface.Open(settings);
                }
                catch (Exception e)
                {
                    failure = e;
                }
            });
            thread.Start();
            thread.Join();
            if (failure is not null)
            {
                throw new InvalidOperationException("creating the tap in the namespace failed", failure);
            }
            using (tap!.Descriptor)
            {
                string[] addresses = Ip("-n", _name, "-4", "-o", "addr", "show", "dev", tap.Name)
                    .Split('\n', StringSplitOptions.RemoveEmptyEntries)
                    .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                    .Select(words => words[Array.IndexOf(words, "inet") + 1])
                    .ToArray();
                string[] routes = Ip("-n", _name, "-4", "route", "show", "dev", tap.Name)
                    .Split('\n', StringSplitOptions.RemoveEmptyEntries)
                    .Select(line => line.Split(' ')[0])
                    .ToArray();
                return (addresses, routes);
            }
        }

        public void Dispose() => Ip("netns", "del", _name);

        private static string Ip(params string[] args)
        {
            var start = new ProcessStartInfo("ip", args) { RedirectStandardOutput = true, RedirectStandardError = true };
            using Process ip = Process.Start(start)!;
            Task<string> error = ip.StandardError.ReadToEndAsync();
            string output = ip.StandardOutput.ReadToEnd();
            ip.WaitForExit();
            return ip.ExitCode == 0 ? output : throw new InvalidOperationException($"ip {string.Join(' ', args)}: {error.Result}");
        }
    }
}
