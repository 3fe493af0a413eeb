using Akka.Actor;

namespace Lguest.Actors.Supervision;

/// <summary>
/// The one line a user reads when a failure ends the launcher. Every supervisor that ends it (the launcher actor
/// for a guest, the vhost-user service for its back ends) words the failure here, so the line is the same whichever
/// way the device was served.
/// </summary>
internal static class FailureDescription
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
}
