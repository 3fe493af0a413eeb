using System.Diagnostics;
using System.Text.Json;
using Lguest.Host.Tests.RealGuest;
using Xunit.Abstractions;

namespace Lguest.Host.Tests.QemuEngine;

/// <summary>
/// The console on a real terminal: python3's pty module gives the launcher a pseudo-terminal for stdin and stdout
/// (the test holds the other end, as a terminal emulator would), so the test sees what a user at a terminal sees.
/// </summary>
[Collection(RealGuestCollection.Name)]
public sealed class QemuEngineTerminalTests(ITestOutputHelper output) : IDisposable
{
    /// <summary>
    /// Starts the launcher on a pty, waits for the guest's prompt, records the terminal's mode, runs one command,
    /// sends three ^C a little apart (each must arrive in a read of its own), and records the mode after the exit.
    /// </summary>
    private const string Driver = """
        import json, os, pty, subprocess, sys, termios, time
        master, slave = pty.openpty()
        original = termios.tcgetattr(slave)
        launcher = subprocess.Popen(sys.argv[1:], stdin=slave, stdout=slave, stderr=subprocess.PIPE)
        seen = b""
        def wait_for(text, limit=150):
            global seen
            deadline = time.time() + limit
            while text not in seen and time.time() < deadline and launcher.poll() is None:
                import select
                ready, _, _ = select.select([master], [], [], 0.2)
                if ready:
                    seen += os.read(master, 65536)
            return text in seen
        ready = wait_for(b"lguest: guest ready") and wait_for(b"# ")
        running = termios.tcgetattr(slave)
        os.write(master, b"echo TERMINAL=$(tty)\r")
        answered = wait_for(b"TERMINAL=/dev/")
        for _ in range(3):
            os.write(master, b"\x03")
            time.sleep(0.15)
        try:
            code = launcher.wait(60)
        except subprocess.TimeoutExpired:
            launcher.kill(); code = "timeout"
        after = termios.tcgetattr(slave)
        lflag = lambda attrs: attrs[3]
        print(json.dumps({
            "ready": ready, "answered": answered, "exit": code,
            "raw_while_running": not (lflag(running) & (termios.ICANON | termios.ECHO | termios.ISIG)),
            "restored": after == original,
            "console": seen.decode("latin1")[-2000:],
            "stderr": launcher.stderr.read().decode("utf-8", "replace")[-4000:],
        }))
        """;

    /// <summary>
    /// stdin and stdout on two ptys, so that input can end while output goes on: at the prompt a background job
    /// is typed that prints after a pause, then stdin's terminal goes away (its master end is closed, which hangs
    /// the terminal up: reads give end of file). The job's line must still reach stdout and the launcher must still
    /// be running; SIGTERM then stops it as a power-off would.
    /// </summary>
    private const string EndOfInputDriver = """
        import json, os, pty, select, signal, subprocess, sys, time
        in_master, in_slave = pty.openpty()
        out_master, out_slave = pty.openpty()
        launcher = subprocess.Popen(sys.argv[1:], stdin=in_slave, stdout=out_slave, stderr=subprocess.PIPE)
        os.close(out_slave)
        seen = b""
        def wait_for(text, limit=150):
            global seen
            deadline = time.time() + limit
            while text not in seen and time.time() < deadline and launcher.poll() is None:
                ready, _, _ = select.select([out_master], [], [], 0.2)
                if ready:
                    seen += os.read(out_master, 65536)
            return text in seen
        ready = wait_for(b"lguest: guest ready") and wait_for(b"# ")
        os.write(in_master, b"(sleep 4; echo LATE=$((6 * 7))) &\r")
        typed = wait_for(b"LATE=$((6 * 7))")
        os.close(in_master)
        late = wait_for(b"LATE=42", 60)
        alive_after_end_of_input = launcher.poll() is None
        if alive_after_end_of_input:
            launcher.send_signal(signal.SIGTERM)
        try:
            code = launcher.wait(60)
        except subprocess.TimeoutExpired:
            launcher.kill(); code = "timeout"
        print(json.dumps({
            "ready": ready, "typed": typed, "late": late, "alive": alive_after_end_of_input, "exit": code,
            "console": seen.decode("latin1")[-2000:],
            "stderr": launcher.stderr.read().decode("utf-8", "replace")[-4000:],
        }))
        """;

    private readonly string _directory = Directory.CreateTempSubdirectory("lguest-qemu-tty-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [RealGuestFact]
    public void On_a_terminal_the_guest_is_interactive_three_ctrl_c_stop_it_with_exit_0_and_the_terminal_is_restored()
    {
        string? python = RealGuestRequirements.FindOnPath("python3");
        if (python is null)
        {
            output.WriteLine("python3 is not installed: no pseudo-terminal to test with");
            return;
        }
        using JsonDocument result = RunDriver(python, Driver);
        JsonElement r = result.RootElement;
        string context = Context(r);

        Assert.True(r.GetProperty("ready").GetBoolean(), "no prompt" + context);
        Assert.True(r.GetProperty("raw_while_running").GetBoolean(), "the terminal was not raw while the guest ran" + context);
        Assert.True(r.GetProperty("answered").GetBoolean(), "the guest's shell did not run a typed command" + context);
        Assert.Equal(0, r.GetProperty("exit").GetInt32());
        Assert.True(r.GetProperty("restored").GetBoolean(), "the terminal's mode was not restored" + context);
        Assert.Contains("three ^C", r.GetProperty("stderr").GetString(), StringComparison.Ordinal);
    }

    [RealGuestFact]
    public void When_the_terminal_input_ends_the_guest_keeps_running_and_its_output_still_reaches_stdout()
    {
        string? python = RealGuestRequirements.FindOnPath("python3");
        if (python is null)
        {
            output.WriteLine("python3 is not installed: no pseudo-terminal to test with");
            return;
        }
        using JsonDocument result = RunDriver(python, EndOfInputDriver);
        JsonElement r = result.RootElement;
        string context = Context(r);

        Assert.True(r.GetProperty("ready").GetBoolean(), "no prompt" + context);
        Assert.True(r.GetProperty("typed").GetBoolean(), "the guest did not echo the typed command" + context);
        Assert.True(r.GetProperty("late").GetBoolean(), "the guest's output stopped reaching stdout when stdin ended" + context);
        Assert.True(r.GetProperty("alive").GetBoolean(), "the launcher ended when its terminal input ended" + context);
        Assert.Equal(0, r.GetProperty("exit").GetInt32());
    }

    /// <summary>Runs a pty driver script against the launcher (the qemu engine, an rng device) and parses its JSON verdict.</summary>
    private JsonDocument RunDriver(string python, string driverScript)
    {
        string script = Path.Combine(_directory, "pty-driver.py");
        File.WriteAllText(script, driverScript);
        string config = QemuEngineConfig.Write(_directory, "{ type = rng }");
        string host = Path.Combine(AppContext.BaseDirectory, "Lguest.Host.dll");
        string dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") ?? "dotnet";

        var start = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string arg in new[] { script, dotnet, host, "--config", config })
        {
            start.ArgumentList.Add(arg);
        }
        using Process driver = Process.Start(start)!;
        Task<string> stdout = driver.StandardOutput.ReadToEndAsync();
        Task<string> stderr = driver.StandardError.ReadToEndAsync();
        if (!driver.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            driver.Kill(entireProcessTree: true);
            Assert.Fail("the pty driver did not finish");
        }
        string json = stdout.Result;
        output.WriteLine(json + stderr.Result);
        return JsonDocument.Parse(json);
    }

    private static string Context(JsonElement r) =>
        $"\nconsole:\n{r.GetProperty("console").GetString()}\nstderr:\n{r.GetProperty("stderr").GetString()}";
}
