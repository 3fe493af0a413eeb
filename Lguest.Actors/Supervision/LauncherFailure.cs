using Akka.Actor;
using Akka.Event;

namespace Lguest.Actors.Supervision;

/// <summary>
/// How a failure ends the launcher: exit code 1 and the one line a user reads. Every supervisor that may end it (the
/// launcher actor for a guest, the vhost-user service for its back ends) ends it here, so the line and the logging
/// are the same whichever way the devices were served.
/// </summary>
internal static class LauncherFailure
{
    /// <summary>The innermost useful message, prefixed by the device when there is one.</summary>
    public static string Describe(Exception failure)
    {
        Exception e = failure;
        while (e is ActorInitializationException { InnerException: { } inner })
        {
            e = inner;
        }
        return e switch
        {
            DeviceFaultException fault when fault.IsGuestFault => $"{fault.Device}: guest error: {fault.InnerException!.Message}",
            DeviceFaultException fault => $"{fault.Device}: {fault.InnerException!.Message}",
            _ => e.Message,
        };
    }

    /// <summary>
    /// Settles <paramref name="exit"/> as a failure. The host prints the one line when the launcher ends, so the log
    /// gets the stack trace at debug level only (--verbose): a failure costs the user one line, not a page.
    /// </summary>
    /// <param name="what">What failed, for the debug line ("guest", "service").</param>
    /// <param name="prefix">Where, when the failure's own message does not say ("device 2 (/tmp/blk.sock)").</param>
    public static void End(TaskCompletionSource<LauncherExit> exit, ILoggingAdapter log, string what, Exception failure, string? prefix = null)
    {
        string message = prefix is null ? Describe(failure) : $"{prefix}: {Describe(failure)}";
        log.Debug(failure, "{What} failed: {Reason}", what, message);
        exit.TrySetResult(new LauncherExit(LauncherExit.Failed, message));
    }

    /// <summary>The first exception of type <typeparamref name="T"/> in <paramref name="failure"/>'s chain of causes, however deeply Akka and the device wrapped it.</summary>
    public static T? CauseOfType<T>(Exception failure)
        where T : Exception
    {
        for (Exception? e = failure; e is not null; e = e.InnerException)
        {
            if (e is T cause)
            {
                return cause;
            }
        }
        return null;
    }
}
