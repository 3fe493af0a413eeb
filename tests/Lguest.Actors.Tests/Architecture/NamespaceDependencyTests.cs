using System.Text;
using Lguest.Actors.Supervision;

namespace Lguest.Actors.Tests.Architecture;

/// <summary>
/// The folders of Lguest.Actors are layers (docs/architecture.md draws them): a namespace may use those below it and
/// never those above, so no two of them depend on each other in a circle and each can be read, and tested, from the
/// bottom up. A new top-level folder fails here until it is given its place in <see cref="Layers"/> and in the doc.
/// </summary>
public sealed class NamespaceDependencyTests
{
    /// <summary>Top to bottom; the same order as docs/architecture.md. The bottom ones depend on nothing of ours.</summary>
    private static readonly string[][] Layers =
    [
        ["Launcher"],
        ["Engines"],
        ["Transports"],
        ["Devices"],
        ["Queues"],
        ["Dispatch", "Metrics"],
        ["Supervision"],
        ["Configuration"],
        [NamespaceGraph.RootGroup],
    ];

    private static readonly Lazy<NamespaceGraph> Actors = new(() =>
        NamespaceGraph.FromSourceAndAssembly(Path.Combine(RepositoryRoot(), "Lguest.Actors"), typeof(LauncherExit).Assembly));

    [Fact]
    public void No_two_top_level_namespaces_of_Lguest_Actors_depend_on_each_other_in_a_circle()
    {
        NamespaceGraph graph = Actors.Value;

        IReadOnlyList<IReadOnlyList<string>> cycles = graph.Cycles();

        Assert.True(cycles.Count == 0, DescribeCycles(graph, cycles));
    }

    [Fact]
    public void Every_dependency_points_down_the_documented_layers()
    {
        NamespaceGraph graph = Actors.Value;
        var problems = new List<string>();

        foreach (string from in graph.Nodes.Order(StringComparer.Ordinal))
        {
            if (LayerOf(from) is not { } fromLayer)
            {
                problems.Add($"{from} has no layer: give it one in {nameof(Layers)} and in docs/architecture.md");
                continue;
            }
            foreach ((string to, string evidence) in graph.DependenciesOf(from))
            {
                if (LayerOf(to) is { } toLayer && toLayer <= fromLayer)
                {
                    problems.Add($"{from} -> {to} goes up or sideways ({evidence})");
                }
            }
        }

        Assert.True(problems.Count == 0, string.Join('\n', problems));
    }

    [Fact]
    public void Every_layer_names_a_namespace_that_exists()
    {
        var nodes = Actors.Value.Nodes.ToHashSet();

        Assert.All(Layers.SelectMany(layer => layer), name => Assert.Contains(name, nodes));
    }

    [Fact]
    public void The_cycle_finder_reports_a_circle_and_only_a_circle()
    {
        var graph = new NamespaceGraph();
        graph.Add("Devices", "Queues", "a");
        graph.Add("Queues", "Dispatch", "b");
        graph.Add("Dispatch", "Devices", "c");
        graph.Add("Launcher", "Devices", "d");
        graph.Add("Supervision", "Supervision", "a namespace using itself is no circle");

        IReadOnlyList<IReadOnlyList<string>> cycles = graph.Cycles();

        IReadOnlyList<string> cycle = Assert.Single(cycles);
        Assert.Equal(["Devices", "Dispatch", "Queues"], cycle);
    }

    [Fact]
    public void A_using_line_alone_is_a_dependency_as_the_source_scan_sees_it()
    {
        string directory = Directory.CreateTempSubdirectory("lguest-arch-").FullName;
        try
        {
            File.WriteAllText(Path.Combine(directory, "Late.cs"), "using Lguest.Actors.Devices;\n\nnamespace Lguest.Actors.Queues.Inner;\n");
            File.WriteAllText(Path.Combine(directory, "Early.cs"), "namespace Lguest.Actors.Devices;\n\n/// <see cref=\"Lguest.Actors.Queues.QueueWiring\"/>\n");
            var graph = new NamespaceGraph();

            graph.AddSources(directory);

            Assert.Equal(["Devices", "Queues"], Assert.Single(graph.Cycles()));
            Assert.Equal("Late.cs:1: Lguest.Actors.Devices", graph.DependenciesOf("Queues")["Devices"]);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static int? LayerOf(string node)
    {
        int index = Array.FindIndex(Layers, layer => layer.Contains(node));
        return index < 0 ? null : index;
    }

    private static string DescribeCycles(NamespaceGraph graph, IReadOnlyList<IReadOnlyList<string>> cycles)
    {
        var text = new StringBuilder();
        foreach (IReadOnlyList<string> cycle in cycles)
        {
            text.Append("namespaces in a circle: ").AppendJoin(", ", cycle).Append('\n');
            foreach (string from in cycle)
            {
                foreach ((string to, string evidence) in graph.DependenciesOf(from).Where(e => cycle.Contains(e.Key)))
                {
                    text.Append($"  {from} -> {to}: {evidence}\n");
                }
            }
        }
        return text.ToString();
    }

    private static string RepositoryRoot()
    {
        DirectoryInfo? directory = new(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Lguest.sln")))
        {
            directory = directory.Parent;
        }
        return directory?.FullName ?? throw new InvalidOperationException($"no Lguest.sln above {AppContext.BaseDirectory}");
    }
}
