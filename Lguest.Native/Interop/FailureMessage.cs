using System.Runtime.CompilerServices;

namespace Lguest.Native.Interop;

/// <summary>
/// The operation text of a failed system call, formatted only when the call failed: I/O on the hot path
/// (a block request's preadv) must not build a message string on every success just in case.
/// </summary>
[InterpolatedStringHandler]
internal ref struct FailureMessage
{
    private DefaultInterpolatedStringHandler _text;

    public FailureMessage(int literalLength, int formattedCount, long result, out bool failed)
    {
        failed = result < 0;
        _text = failed ? new DefaultInterpolatedStringHandler(literalLength, formattedCount) : default;
    }

    public void AppendLiteral(string value) => _text.AppendLiteral(value);

    public void AppendFormatted<T>(T value) => _text.AppendFormatted(value);

    public void AppendFormatted<T>(T value, string? format) => _text.AppendFormatted(value, format);

    public string ToStringAndClear() => _text.ToStringAndClear();
}
