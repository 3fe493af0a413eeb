using Lguest.Native.Interop;
using Lguest.Native.VhostUser;

namespace Lguest.Native.Tests.VhostUser;

/// <summary>The channel's deadline for a message once it has started, and no deadline between messages.</summary>
public sealed class VhostUserChannelDeadlineTests
{
    [Fact]
    public async Task A_message_that_stops_after_six_bytes_expires_and_an_idle_connection_does_not()
    {
        (FileDescriptor front, FileDescriptor back) = UnixSocket.CreatePair();
        using (front)
        using (var channel = new VhostUserChannel(back) { MessageDeadline = TimeSpan.FromMilliseconds(200) })
        {
            var reader = new TaskCompletionSource<string>(TaskCreationOptions.RunContinuationsAsynchronously);
            Task<VhostUserMessage?> receive = Task.Factory.StartNew(
                () =>
                {
                    reader.SetResult(Interop.BlockedThread.Current());
                    return channel.ReceiveRequest();
                },
                TaskCreationOptions.LongRunning);
            // The deadline is about time, so time must pass; but it is counted from the moment the reader is known to
            // be waiting on the idle connection, not from when the test happened to start it.
            string task = await reader.Task;
            Interop.BlockedThread.WaitUntilAsleepIn(task, Interop.BlockedThread.Waits);
            await Task.Delay(TimeSpan.FromMilliseconds(500));
            Assert.False(receive.IsCompleted); // idle for longer than the deadline: still waiting

            UnixSocket.Send(front, new byte[] { 1, 0, 0, 0, 1, 0 });
            var expired = await Assert.ThrowsAsync<VhostUserProtocolException>(() => receive.WaitAsync(TimeSpan.FromSeconds(30)));
            Assert.Equal(VhostUserViolation.DeadlineExpired, expired.Violation);
        }
    }
}
