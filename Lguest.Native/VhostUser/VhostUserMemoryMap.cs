using Lguest.Native.Interop;
using Lguest.Native.Memory;

namespace Lguest.Native.VhostUser;

/// <summary>Maps a SET_MEM_TABLE's regions: each region's descriptor, shared, from its mmap_offset.</summary>
public static class VhostUserMemoryMap
{
    /// <summary>
    /// Checks each region's fd is a memfd that cannot shrink (see <see cref="SharedMemoryCheck"/>), that the region
    /// fits inside its file (fstat), and maps it; the result keeps the user addresses for ring translation. Whatever
    /// the kernel refuses about the front end's fd is the front end's fault, so it is a protocol violation too. The descriptors stay the caller's (the mappings do not need them). On any failure every mapping
    /// made so far is undone.
    /// </summary>
    public static GuestMemory Map(VhostUserMemoryTable table, IReadOnlyList<FileDescriptor> fds)
    {
        ArgumentNullException.ThrowIfNull(table);
        ArgumentNullException.ThrowIfNull(fds);
        if (fds.Count != table.Regions.Count)
        {
            throw new VhostUserProtocolException(VhostUserViolation.FdCountMismatch, $"{table.Regions.Count} regions need {table.Regions.Count} descriptors, got {fds.Count}");
        }
        var regions = new List<GuestMemoryRegion>(fds.Count);
        try
        {
            for (int i = 0; i < fds.Count; i++)
            {
                VhostUserMemoryRegion r = table.Regions[i];
                if (SharedMemoryCheck.Refusal(fds[i]) is { } unsafeRegion)
                {
                    throw new VhostUserProtocolException(VhostUserViolation.MemoryRegionUnsafe, $"region {i}: {unsafeRegion}");
                }
                ulong fileSize = (ulong)Math.Max(0, FileStatus.SizeOf(fds[i]));
                if (r.MmapOffset > fileSize || r.Size > fileSize - r.MmapOffset)
                {
                    throw new VhostUserProtocolException(
                        VhostUserViolation.MemoryRegionPastFileEnd,
                        $"region {i}: mmap_offset 0x{r.MmapOffset:x} + size 0x{r.Size:x} runs past the end of its file (0x{fileSize:x} bytes)");
                }
                regions.Add(new GuestMemoryRegion(r.GuestAddress, MapRegion(i, fds[i], r), r.UserAddress));
            }
            return new GuestMemory(regions);
        }
        catch
        {
            foreach (GuestMemoryRegion region in regions)
            {
                region.Mapping?.Dispose();
            }
            throw;
        }
    }

    private static MemoryMapping MapRegion(int index, FileDescriptor fd, VhostUserMemoryRegion region)
    {
        try
        {
            return MemoryMapping.MapShared(fd, region.MmapOffset, region.Size);
        }
        catch (Exception e) when (e is SystemCallException or ArgumentOutOfRangeException)
        {
            throw new VhostUserProtocolException(
                VhostUserViolation.MemoryRegionUnmappable, $"region {index}: mapping 0x{region.Size:x} bytes at offset 0x{region.MmapOffset:x} failed: {e.Message}");
        }
    }
}
