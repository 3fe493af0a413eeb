using System.Diagnostics;

namespace Lguest.Bench;

/// <summary>
/// dotnet run -c Release --project bench/Lguest.Bench -- [--quick] [--only ring|vhost-user|footprint|inprocess|realguest|qemu|switch|switch-guests] [--no-peer] [--previous HOST_DLL] [--markdown FILE]
/// dotnet run -c Release --project bench/Lguest.Bench -- --bdn   (the ring engine under BenchmarkDotNet)
/// Runs the selected suites and prints one table; progress goes to stderr so stdout is just the table.
/// </summary>
internal static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "--bdn")
        {
            // The ring engine under BenchmarkDotNet: its own statistics and summary table, with allocations per chain.
            BenchmarkDotNet.Running.BenchmarkRunner.Run<RingMicroBenchmarks>(args: args[1..]);
            return 0;
        }
        BenchOptions? options = BenchOptions.Parse(args, out string? error);
        if (options is null)
        {
            Console.Error.WriteLine(error);
            return 2;
        }
        if (!Debugger.IsAttached && IsDebugBuild())
        {
            Console.Error.WriteLine("warning: a Debug build; numbers are only meaningful with -c Release");
        }
        var rows = new List<ResultRow>();
        if (options.Runs("ring"))
        {
            Console.Error.WriteLine("ring ...");
            rows.AddRange(RingBenchmark.Run(options));
        }
        if (options.Runs("switch"))
        {
            Console.Error.WriteLine("switch ...");
            rows.AddRange(SwitchBenchmark.Run(options, Console.Error));
        }
        if (options.Runs("vhost-user") || options.Runs("footprint") || options.Runs("inprocess") || options.Runs("realguest") || options.Runs("qemu") || options.Runs("switch-guests"))
        {
            Console.Error.WriteLine("preparing images ...");
            using var images = new TestImages();
            if (options.Runs("vhost-user"))
            {
                Console.Error.WriteLine("vhost-user ...");
                rows.AddRange(VhostUserBenchmark.Run(options, images, Console.Error));
            }
            if (options.Runs("footprint"))
            {
                Console.Error.WriteLine("footprint ...");
                rows.AddRange(FootprintBenchmark.Run(options, images, Console.Error));
            }
            if (options.Runs("inprocess"))
            {
                Console.Error.WriteLine("inprocess ...");
                rows.AddRange(InProcessBenchmark.Run(options, images, Console.Error));
            }
            if (options.Runs("realguest"))
            {
                Console.Error.WriteLine("realguest ...");
                rows.AddRange(RealGuestBenchmark.Run(options, images, Console.Error));
            }
            if (options.Runs("qemu"))
            {
                Console.Error.WriteLine("qemu ...");
                rows.AddRange(QemuEngineBenchmark.Run(options, images, Console.Error));
            }
            if (options.Runs("switch-guests"))
            {
                Console.Error.WriteLine("switch-guests ...");
                rows.AddRange(SwitchGuestsBenchmark.Run(options, images, Console.Error));
            }
        }
        string command = "dotnet run -c Release --project bench/Lguest.Bench --" + (args.Length > 0 ? " " + string.Join(' ', args) : "");
        string table = ResultTable.Render(rows, command);
        Console.Write(table);
        if (options.MarkdownPath is { } path)
        {
            File.WriteAllText(path, table);
        }
        return 0;
    }

    private static bool IsDebugBuild() =>
        typeof(Program).Assembly.GetCustomAttributes(typeof(DebuggableAttribute), false)
            .OfType<DebuggableAttribute>().Any(d => d.IsJITOptimizerDisabled);
}
