namespace Lguest.Actors.Supervision;

/// <summary>
/// Stop the guest, or the vhost-user service, and end the launcher as if it had powered off (SIGINT, SIGTERM, a
/// host-side ^C). Told to the top of the tree, which is the only place that decides how the launcher ends.
/// </summary>
internal sealed record Shutdown;
