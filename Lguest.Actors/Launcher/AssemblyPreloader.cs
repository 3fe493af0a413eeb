using System.Reflection;

namespace Lguest.Actors.Launcher;

/// <summary>
/// After a chroot, the runtime can no longer load an assembly from where it was installed: anything loaded lazily
/// later (a logger's formatter, an exception's resources) would fail, and logging would go silent. So before the
/// seed's chroot we load the whole closure of assemblies the process references, while they can still be found.
/// </summary>
internal static class AssemblyPreloader
{
    /// <summary>Loads every assembly reachable from the entry assembly and those already loaded; returns how many were added.</summary>
    public static int LoadReferencedClosure()
    {
        var seen = new HashSet<string>(AppDomain.CurrentDomain.GetAssemblies().Select(a => a.FullName!), StringComparer.Ordinal);
        var pending = new Queue<Assembly>(AppDomain.CurrentDomain.GetAssemblies());
        int loaded = 0;
        while (pending.Count > 0)
        {
            foreach (AssemblyName reference in pending.Dequeue().GetReferencedAssemblies())
            {
                if (!seen.Add(reference.FullName))
                {
                    continue;
                }
                try
                {
                    pending.Enqueue(Assembly.Load(reference));
                    loaded++;
                }
                catch (Exception e) when (e is FileNotFoundException or FileLoadException or BadImageFormatException)
                {
                    // An optional reference that is not shipped (a platform-specific one): nothing to preload.
                }
            }
        }
        return loaded;
    }
}
