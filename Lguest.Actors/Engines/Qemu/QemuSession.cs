namespace Lguest.Actors.Engines.Qemu;

/// <summary>
/// What outlives one boot of a QEMU guest across reboots: the runtime directory, the accelerator choice (probed
/// once), the boot count and when the launcher started (for the start-up figures).
/// </summary>
internal sealed class QemuSession : IDisposable
{
    private readonly Lazy<QemuRuntimeDirectory> _directory = new(QemuRuntimeDirectory.Create);
    private int _boots;

    public QemuSession(QemuAcceleratorChoice accelerator, DateTime launcherStarted)
    {
        Accelerator = accelerator;
        LauncherStarted = launcherStarted;
    }

    /// <summary>A session for <paramref name="settings"/>, timed from this process's start.</summary>
    public static QemuSession Start(Configuration.LauncherSettings settings)
    {
        using var self = System.Diagnostics.Process.GetCurrentProcess();
        return new QemuSession(QemuAcceleratorChoice.For(settings.Qemu.Accelerator), self.StartTime.ToUniversalTime());
    }

    public QemuAcceleratorChoice Accelerator { get; }

    public DateTime LauncherStarted { get; }

    public QemuRuntimeDirectory Directory => _directory.Value;

    public int Boots => _boots;

    public int NextBoot() => ++_boots;

    public void Dispose()
    {
        if (_directory.IsValueCreated)
        {
            _directory.Value.Dispose();
        }
    }
}
