using System.ComponentModel;
using System.Diagnostics;
using System.Text;

namespace Lguest.Actors.Engines.Qemu.Initramfs;

/// <summary>A host tool run to completion (modprobe, busybox --list, xz), its output captured whole.</summary>
internal static class HostCommand
{
    /// <summary>Long enough for modprobe on a loaded machine; a tool that takes longer is stuck, not slow.</summary>
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    public sealed record Result(int ExitCode, byte[] OutputBytes, string Error)
    {
        public string Output => Encoding.UTF8.GetString(OutputBytes);

        /// <summary>The first line of stderr, or the exit status when the tool said nothing.</summary>
        public string Reason(string program)
        {
            string first = Error.Trim().Split('\n')[0];
            return first.Length > 0 ? first : $"{program} exited with status {ExitCode}";
        }
    }

    /// <exception cref="Win32Exception">The program could not be started (missing, not executable).</exception>
    public static Result Run(string program, IEnumerable<string> arguments)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using Process process = Process.Start(start) ?? throw new Win32Exception($"{program} did not start");
        process.StandardInput.Close();
        Task<string> error = process.StandardError.ReadToEndAsync();
        using var output = new MemoryStream();
        Task copy = process.StandardOutput.BaseStream.CopyToAsync(output);
        if (!process.WaitForExit(Limit))
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
            return new Result(-1, [], $"{program} did not finish within {Limit.TotalSeconds:0} s");
        }
        copy.GetAwaiter().GetResult();
        return new Result(process.ExitCode, output.ToArray(), error.GetAwaiter().GetResult());
    }
}
