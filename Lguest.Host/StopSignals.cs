using System.Runtime.InteropServices;

namespace Lguest.Host;

/// <summary>
/// SIGINT and SIGTERM stop the guest as a power-off would (exit 0), instead of killing the process: the launcher
/// restores the terminal, joins its queue threads and flushes its disks first.
/// </summary>
internal sealed class StopSignals : IDisposable
{
    private readonly PosixSignalRegistration _interrupt;
    private readonly PosixSignalRegistration _terminate;

    public StopSignals(CancellationTokenSource stop)
    {
        _interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, context => Stop(context, stop));
        _terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context => Stop(context, stop));
    }

    public void Dispose()
    {
        _interrupt.Dispose();
        _terminate.Dispose();
    }

    private static void Stop(PosixSignalContext context, CancellationTokenSource stop)
    {
        // The runtime's default for both would end the process before the guest's devices are stopped.
        context.Cancel = true;
        stop.Cancel();
    }
}
