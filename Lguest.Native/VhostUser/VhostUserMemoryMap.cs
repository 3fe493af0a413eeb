using Lguest.Native.Interop;
using Lguest.Native.Memory;

namespace Lguest.Native.VhostUser;

/// <summary>Maps a SET_MEM_TABLE's regions: each region's descriptor, shared, from its mmap_offset.</summary>
public static class VhostUserMemoryMap
{
    /// <summary>
    /// Checks each region fits inside its file (fstat) and maps it; the result keeps the user addresses for ring
    /// translation. The descriptors stay the caller's (the mappings do not need them). On any failure every mapping
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
                ulong fileSize = (ulong)Math.Max(0, FileStatus.SizeOf(fds[i]));
                if (r.MmapOffset > fileSize || r.Size > fileSize - r.MmapOffset)
                {
                    throw new VhostUserProtocolException(
                        VhostUserViolation.MemoryRegionPastFileEnd,
                        $"region {i}: mmap_offset 0x{r.MmapOffset:x} + size 0x{r.Size:x} runs past the end of its file (0x{fileSize:x} bytes)");
                }
                regions.Add(new GuestMemoryRegion(r.GuestAddress, MemoryMapping.MapShared(fds[i], r.MmapOffset, r.Size), r.UserAddress));
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
}
