namespace Lguest.Fuzz.Targets;

/// <summary>
/// One fuzz target. Its contract: any input either succeeds or ends in one of the project's documented guest-facing
/// exceptions, which the target catches itself; anything that escapes <see cref="Run"/> is a crash, because in the
/// launcher it would be a guest or front end taking down more than its own connection.
/// </summary>
internal interface IFuzzTarget
{
    string Name { get; }

    /// <summary>How far the last input got (rings started, chains popped, requests served, images loaded): seeds must get somewhere.</summary>
    int Progress { get; }

    void Run(ReadOnlySpan<byte> input);

    /// <summary>Small valid inputs for the seed corpus, by file name.</summary>
    IEnumerable<(string Name, byte[] Input)> Seeds();
}

/// <summary>A broken invariant the target checks itself (a request completed twice, data that differs from the model).</summary>
internal sealed class FuzzInvariantException(string message) : Exception(message);
