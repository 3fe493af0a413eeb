namespace Lguest.Actors.Devices.Console;

/// <summary>
/// Three ^C within a second end the launcher. Such a hack, but it works surprisingly well: with the terminal raw,
/// ^C is just a byte for the guest, so a user whose guest has hung needs some way out. Each ^C has to arrive in a
/// read by itself, so they cannot be too fast, and the three must come within about a second, so not too slow.
/// </summary>
internal sealed class ConsoleAbort
{
    public const byte ControlC = 3;
    public const long WindowMilliseconds = 1000;

    private readonly Action _abort;
    private readonly Func<long> _clock;
    private int _count;
    private long _start;

    public ConsoleAbort(Action abort, Func<long> clock)
    {
        _abort = abort;
        _clock = clock;
    }

    /// <summary>Called after every read of <paramref name="length"/> bytes starting with <paramref name="first"/>.</summary>
    public void Saw(long length, byte first)
    {
        if (length != 1 || first != ControlC)
        {
            _count = 0;
            return;
        }
        _count++;
        if (_count == 1)
        {
            _start = _clock();
        }
        else if (_count == 3)
        {
            _count = 0;
            if (_clock() - _start <= WindowMilliseconds)
            {
                _abort();
            }
        }
    }
}
