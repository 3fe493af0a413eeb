using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Lguest.DeviceTestKit;

namespace Lguest.Host.Tests;

/// <summary>
/// A flush is a promise: the simulated guest writes record N to sector N (modulo the capacity), flushes, and only then prints
/// "block: vda flushed N". The launcher is killed with SIGKILL mid-loop, and every record it said was flushed must be
/// in the file, byte for byte.
/// </summary>
public sealed class CrashConsistencyTests : IDisposable
{
    private const int DiskBytes = 1 << 20;
    private const int FlushesBeforeKill = 50;
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);
    private readonly string _directory = Directory.CreateTempSubdirectory("lguest-crash-").FullName;

    [Fact]
    public async Task Every_write_flushed_before_a_SIGKILL_is_in_the_file()
    {
        string kernel = TestKernel.Write(_directory);
        string disk = Path.Combine(_directory, "disk.img");
        File.WriteAllBytes(disk, new byte[DiskBytes]);
        string config = Path.Combine(_directory, "guest.hocon");
        File.WriteAllText(config, $$"""
            lguest {
              engine = simulated
              memory = 32M
              kernel = "{{kernel}}"
              command-line = "root=/dev/vda sim.block=flush-loop"
              devices = [ { type = block, path = "{{disk}}" } ]
            }
            """);

        using Process host = HostProcess.Start([], "--config", config);
        Task<string> stderr = host.StandardError.ReadToEndAsync();
        long lastFlushed = -1;
        int seen = 0;
        using (var timeout = new CancellationTokenSource(Bound))
        {
            try
            {
                while (seen < FlushesBeforeKill)
                {
                    string line = await host.StandardOutput.ReadLineAsync(timeout.Token)
                        ?? throw new InvalidOperationException($"the launcher stopped after {seen} flushes: {await stderr}");
                    if (line.StartsWith("block: vda flushed ", StringComparison.Ordinal))
                    {
                        long n = long.Parse(line["block: vda flushed ".Length..], CultureInfo.InvariantCulture);
                        Assert.Equal(lastFlushed + 1, n);
                        lastFlushed = n;
                        seen++;
                    }
                }
            }
            finally
            {
                host.Kill(); // SIGKILL: no shutdown path runs
            }
        }
        await host.WaitForExitAsync().WaitAsync(Bound);

        Assert.Equal(128 + 9, host.ExitCode);
        byte[] file = await File.ReadAllBytesAsync(disk);
        Assert.Equal(DiskBytes, file.Length);
        // The guest runs ahead of our reading (the pipe holds many lines), so it may have wrapped round the disk:
        // each sector must hold the record we saw flushed there, or a later one that went to the same sector.
        const int capacity = DiskBytes / 512;
        for (long n = 0; n <= lastFlushed; n++)
        {
            int sector = (int)(n % capacity);
            long found = RecordNumber(file.AsSpan(sector * 512, 512));
            Assert.True(found >= n && found % capacity == sector, $"sector {sector} holds record {found}, not record {n} (flushed) or a later one");
            Assert.True(SimulatedWorkload.FlushRecord(found).AsSpan().SequenceEqual(file.AsSpan(sector * 512, 512)), $"record {found} is torn");
        }
    }

    /// <summary>N from a record's "lguest-sim record N" prefix; -1 when the sector holds no record.</summary>
    private static long RecordNumber(ReadOnlySpan<byte> sector)
    {
        string text = System.Text.Encoding.ASCII.GetString(sector[..32]);
        Match match = Regex.Match(text, "^lguest-sim record ([0-9]+)\n");
        return match.Success ? long.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : -1;
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
