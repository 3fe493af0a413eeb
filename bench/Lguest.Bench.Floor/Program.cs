// The footprint suite's floor: the least any .NET process costs, started the way Lguest.Host is ("dotnet X.dll"),
// with the runtime settings every project here shares. It says it is up, then idles until stdin closes.
Console.WriteLine("ready");
_ = Console.In.ReadToEnd();
