using System.Collections.Concurrent;
using System.Diagnostics;

namespace Lguest.Host.Tests.RealGuest;

/// <summary>
/// The initramfs of scripts/make-test-initramfs.sh, built once per test run and kernel release into a temp
/// directory that is removed when the test process exits. Concurrent callers share one build.
/// </summary>
public static class TestInitramfs
{
    private static readonly ConcurrentDictionary<string, Lazy<Task<string>>> Builds = new(StringComparer.Ordinal);
    private static readonly Lazy<string> Directory = new(CreateDirectory);

    /// <summary>scripts/make-test-initramfs.sh as copied next to the tests.</summary>
    public static string Script => Path.Combine(AppContext.BaseDirectory, "RealGuest", "make-test-initramfs.sh");

    /// <summary>The initramfs for the kernel the guests boot.</summary>
    public static Task<string> GetAsync() => GetAsync(RealGuestRequirements.KernelVersion);

    /// <summary>The initramfs holding <paramref name="kernelVersion"/>'s modules.</summary>
    public static Task<string> GetAsync(string kernelVersion)
    {
        Lazy<Task<string>> build = Builds.GetOrAdd(kernelVersion, version => new Lazy<Task<string>>(() => BuildAsync(version)));
        Task<string> task = build.Value;
        if (task.IsFaulted)
        {
            // A failed build is not cached: the next caller tries again (and reports its own error).
            Builds.TryRemove(new KeyValuePair<string, Lazy<Task<string>>>(kernelVersion, build));
        }
        return task;
    }

    private static async Task<string> BuildAsync(string kernelVersion)
    {
        if (!File.Exists(Script))
        {
            throw new FileNotFoundException("the initramfs script was not copied next to the tests", Script);
        }
        string output = Path.Combine(Directory.Value, $"initramfs-{kernelVersion}.cpio.gz");
        var start = new ProcessStartInfo("bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(Script);
        start.ArgumentList.Add(output);
        start.ArgumentList.Add(kernelVersion);
        using Process process = Process.Start(start) ?? throw new InvalidOperationException("bash did not start");
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        try
        {
            await process.WaitForExitAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{Script} did not finish within 60 s");
        }
        if (process.ExitCode != 0 || !File.Exists(output))
        {
            throw new InvalidOperationException(
                $"{Script} {output} {kernelVersion} exited {process.ExitCode}:\n{await stdout.ConfigureAwait(false)}{await stderr.ConfigureAwait(false)}");
        }
        return output;
    }

    private static string CreateDirectory()
    {
        string directory = System.IO.Directory.CreateTempSubdirectory("lguest-initramfs-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                System.IO.Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
            }
        };
        return directory;
    }
}
