using Lguest.Actors.Devices.Net.Switch;

namespace Lguest.Actors.Tests.Devices.Net.Switch;

/// <summary>The address table on its own: learning, ageing, the bound, and forgetting a port.</summary>
public sealed class MacTableTests
{
    private const ulong Broadcast = 0xffff_ffff_ffff;
    private long _now;

    [Fact]
    public void A_source_is_learned_and_answers_for_its_port_until_it_ages_out()
    {
        var table = new MacTable(16, TimeSpan.FromSeconds(10), () => _now);
        Assert.Equal(-1, table.LearnAndLookup(Mac(1), port: 0, destination: Mac(2)));
        Assert.Equal(0, table.LearnAndLookup(Mac(2), port: 1, destination: Mac(1)));
        _now = 9_999;
        Assert.Equal(1, table.LearnAndLookup(Mac(3), port: 2, destination: Mac(2)));
        _now = 10_000; // Mac(2) last heard at 0
        Assert.Equal(-1, table.LearnAndLookup(Mac(3), port: 2, destination: Mac(2)));
        Assert.Equal(2, table.Count); // Mac(1) ages out only when looked up or swept
        _now = 20_000;
        Assert.Equal(2, table.Sweep());
        Assert.Equal(0, table.Count);
    }

    [Fact]
    public void Group_addresses_are_never_learned_and_always_flood()
    {
        var table = new MacTable(16, TimeSpan.FromSeconds(10), () => _now);
        ulong multicast = 0x0100_5e00_0001;
        Assert.True(MacTable.IsGroup(multicast));
        Assert.Equal(-1, table.LearnAndLookup(multicast, port: 0, destination: Broadcast));
        Assert.Equal(-1, table.LearnAndLookup(Mac(1), port: 1, destination: multicast));
        Assert.Equal(1, table.Count);
    }

    [Fact]
    public void A_full_table_refuses_new_addresses_until_ageing_frees_room()
    {
        var table = new MacTable(4, TimeSpan.FromSeconds(10), () => _now);
        for (ulong i = 1; i <= 4; i++)
        {
            table.LearnAndLookup(Mac(i), port: 0, destination: Broadcast);
        }
        _now = 5_000;
        table.LearnAndLookup(Mac(5), port: 1, destination: Broadcast);
        Assert.Equal(4, table.Count);
        Assert.Equal(1, table.Refused);
        Assert.Equal(-1, table.LearnAndLookup(Mac(6), port: 2, destination: Mac(5)));
        Assert.Equal(0, table.LearnAndLookup(Mac(1), port: 0, destination: Mac(4))); // known addresses still refresh

        _now = 12_000; // Mac(2..4) are older than 10 s now; Mac(1) was refreshed at 5 s
        table.LearnAndLookup(Mac(7), port: 3, destination: Broadcast);
        Assert.Equal(3, table.LearnAndLookup(Mac(1), port: 0, destination: Mac(7)));
        Assert.Equal(2, table.Count);
    }

    [Fact]
    public void Forgetting_a_port_removes_only_its_addresses()
    {
        var table = new MacTable(16, TimeSpan.FromSeconds(10), () => _now);
        table.LearnAndLookup(Mac(1), port: 0, destination: Broadcast);
        table.LearnAndLookup(Mac(2), port: 1, destination: Broadcast);
        table.LearnAndLookup(Mac(3), port: 1, destination: Broadcast);
        Assert.Equal(2, table.Forget(1));
        Assert.Equal(-1, table.LearnAndLookup(Mac(4), port: 2, destination: Mac(2)));
        Assert.Equal(0, table.LearnAndLookup(Mac(4), port: 2, destination: Mac(1)));
    }

    [Fact]
    public void The_key_is_the_six_bytes_in_order()
    {
        Assert.Equal(0x0200_0000_000aUL, MacTable.Key([0x02, 0, 0, 0, 0, 0x0a]));
        Assert.False(MacTable.IsGroup(MacTable.Key([0x02, 0, 0, 0, 0, 0x0a])));
        Assert.True(MacTable.IsGroup(MacTable.Key([0xff, 0xff, 0xff, 0xff, 0xff, 0xff])));
    }

    private static ulong Mac(ulong n) => 0x0200_0000_0000UL | n;
}
