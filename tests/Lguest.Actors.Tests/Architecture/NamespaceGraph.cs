using System.Reflection;
using System.Text.RegularExpressions;

namespace Lguest.Actors.Tests.Architecture;

/// <summary>
/// Which of Lguest.Actors' top-level namespaces (Lguest.Actors.Devices, .Queues, ...) uses which, with one piece of
/// evidence per edge so a failure says where to look. Two sources, because each misses what the other sees: the
/// source's <c>using</c> lines and fully qualified names catch what only method bodies touch (a <c>new X()</c>, a
/// static call), and reflection over the compiled types catches a child namespace reaching a sibling through a
/// partial name (<c>Queues.QueueWiring</c> needs no using) wherever it shows in a signature, field or local.
/// </summary>
internal sealed partial class NamespaceGraph
{
    public const string Root = "Lguest.Actors";

    /// <summary>Types declared directly in <see cref="Root"/> (the dispatcher names): shared by all, depending on none.</summary>
    public const string RootGroup = "(root)";

    private readonly Dictionary<string, Dictionary<string, string>> _edges = [];

    public IEnumerable<string> Nodes => _edges.Keys;

    public IReadOnlyDictionary<string, string> DependenciesOf(string node)
        => _edges.TryGetValue(node, out Dictionary<string, string>? targets) ? targets : new Dictionary<string, string>();

    /// <summary>The top-level group a namespace belongs to: "Devices" for Lguest.Actors.Devices.Block; null outside the assembly's namespaces.</summary>
    public static string? TopLevel(string? ns)
    {
        if (ns == Root)
        {
            return RootGroup;
        }
        if (ns is null || !ns.StartsWith(Root + ".", StringComparison.Ordinal))
        {
            return null;
        }
        string rest = ns[(Root.Length + 1)..];
        int dot = rest.IndexOf('.', StringComparison.Ordinal);
        return dot < 0 ? rest : rest[..dot];
    }

    public void Add(string from, string to, string evidence)
    {
        if (!_edges.TryGetValue(from, out Dictionary<string, string>? targets))
        {
            _edges[from] = targets = [];
        }
        if (from != to)
        {
            targets.TryAdd(to, evidence);
        }
    }

    public static NamespaceGraph FromSourceAndAssembly(string sourceDirectory, Assembly assembly)
    {
        var graph = new NamespaceGraph();
        graph.AddSources(sourceDirectory);
        graph.AddAssembly(assembly);
        return graph;
    }

    /// <summary>Every <c>using</c> of, and every fully qualified name in, a sibling top-level namespace.</summary>
    public void AddSources(string sourceDirectory)
    {
        foreach (string file in Directory.EnumerateFiles(sourceDirectory, "*.cs", SearchOption.AllDirectories))
        {
            string relative = Path.GetRelativePath(sourceDirectory, file);
            if (relative.StartsWith("obj" + Path.DirectorySeparatorChar, StringComparison.Ordinal)
                || relative.StartsWith("bin" + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            {
                continue;
            }
            string text = File.ReadAllText(file);
            string? from = TopLevel(FileNamespace().Match(text) is { Success: true } m ? m.Groups[1].Value : null);
            if (from is null)
            {
                continue;
            }
            _edges.TryAdd(from, []);
            foreach (Match reference in QualifiedName().Matches(text))
            {
                string? to = TopLevel(reference.Value);
                if (to is not null)
                {
                    int line = text.AsSpan(0, reference.Index).Count('\n') + 1;
                    Add(from, to, $"{relative}:{line}: {reference.Value}");
                }
            }
        }
    }

    /// <summary>Base types, interfaces, fields, properties, signatures and locals of every type the assembly declares.</summary>
    public void AddAssembly(Assembly assembly)
    {
        const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        foreach (Type type in assembly.GetTypes())
        {
            string? from = TopLevel(type.Namespace);
            if (from is null)
            {
                continue;
            }
            _edges.TryAdd(from, []);
            var used = new List<(Type Type, string Where)>();
            if (type.BaseType is { } baseType)
            {
                used.Add((baseType, "base type"));
            }
            used.AddRange(type.GetInterfaces().Select(i => (i, "interface")));
            used.AddRange(type.GetFields(all).Select(f => (f.FieldType, $"field {f.Name}")));
            used.AddRange(type.GetProperties(all).Select(p => (p.PropertyType, $"property {p.Name}")));
            foreach (MethodBase method in type.GetMethods(all).Cast<MethodBase>().Concat(type.GetConstructors(all)))
            {
                if (method is MethodInfo info)
                {
                    used.Add((info.ReturnType, $"{method.Name} returns"));
                }
                used.AddRange(method.GetParameters().Select(p => (p.ParameterType, $"{method.Name}({p.Name})")));
                if (method.GetMethodBody() is { } body)
                {
                    used.AddRange(body.LocalVariables.Select(l => (l.LocalType, $"{method.Name} local")));
                }
            }
            foreach ((Type usedType, string where) in used)
            {
                foreach (Type named in Unwrap(usedType))
                {
                    string? to = TopLevel(named.Namespace);
                    if (to is not null && named.Assembly == assembly)
                    {
                        Add(from, to, $"{type.FullName} {where}: {named.FullName}");
                    }
                }
            }
        }
    }

    /// <summary>
    /// The strongly connected components with more than one member (Tarjan): each is a set of namespaces that
    /// depend on one another in a circle.
    /// </summary>
    public IReadOnlyList<IReadOnlyList<string>> Cycles()
    {
        var index = new Dictionary<string, int>();
        var lowLink = new Dictionary<string, int>();
        var stack = new Stack<string>();
        var onStack = new HashSet<string>();
        var cycles = new List<IReadOnlyList<string>>();
        int next = 0;

        void Visit(string node)
        {
            index[node] = lowLink[node] = next++;
            stack.Push(node);
            onStack.Add(node);
            foreach (string target in DependenciesOf(node).Keys)
            {
                if (!index.TryGetValue(target, out int targetIndex))
                {
                    Visit(target);
                    lowLink[node] = Math.Min(lowLink[node], lowLink[target]);
                }
                else if (onStack.Contains(target))
                {
                    lowLink[node] = Math.Min(lowLink[node], targetIndex);
                }
            }
            if (lowLink[node] == index[node])
            {
                var component = new List<string>();
                string member;
                do
                {
                    member = stack.Pop();
                    onStack.Remove(member);
                    component.Add(member);
                }
                while (member != node);
                if (component.Count > 1)
                {
                    component.Sort(StringComparer.Ordinal);
                    cycles.Add(component);
                }
            }
        }

        foreach (string node in _edges.Keys.Order(StringComparer.Ordinal).ToList())
        {
            if (!index.ContainsKey(node))
            {
                Visit(node);
            }
        }
        return cycles;
    }

    private static IEnumerable<Type> Unwrap(Type type)
    {
        if (type.IsGenericParameter)
        {
            yield break;
        }
        if (type.HasElementType)
        {
            foreach (Type element in Unwrap(type.GetElementType()!))
            {
                yield return element;
            }
            yield break;
        }
        yield return type;
        if (type.IsGenericType)
        {
            foreach (Type argument in type.GetGenericArguments().SelectMany(Unwrap))
            {
                yield return argument;
            }
        }
    }

    [GeneratedRegex(@"^namespace\s+([\w.]+)\s*;", RegexOptions.Multiline)]
    private static partial Regex FileNamespace();

    /// <summary>A using (plain, static or alias) or a qualified name in code, crefs included: Lguest.Actors.X.</summary>
    [GeneratedRegex(@"(?<![\w.])Lguest\.Actors\.\w+")]
    private static partial Regex QualifiedName();
}
