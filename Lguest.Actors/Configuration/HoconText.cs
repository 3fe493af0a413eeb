using System.Globalization;
using System.Text;

namespace Lguest.Actors.Configuration;

/// <summary>
/// HOCON as text: writes values into generated HOCON so any path or argument survives the round trip intact, and
/// checks a file's structure before Akka's parser sees it.
/// </summary>
internal static class HoconText
{
    /// <summary>A double-quoted HOCON (JSON) string literal.</summary>
    public static string Quote(string value)
    {
        var text = new StringBuilder(value.Length + 2).Append('"');
        foreach (char c in value)
        {
            _ = c switch
            {
                '"' => text.Append("\\\""),
                '\\' => text.Append("\\\\"),
                '\n' => text.Append("\\n"),
                '\r' => text.Append("\\r"),
                '\t' => text.Append("\\t"),
                < ' ' => text.Append("\\u").Append(((int)c).ToString("x4", CultureInfo.InvariantCulture)),
                _ => text.Append(c),
            };
        }
        return text.Append('"').ToString();
    }

    /// <summary>
    /// The first structural mistake in <paramref name="text"/>, or null. Akka's parser accepts a file whose last
    /// object is never closed (it ends the object at the end of the file), and reports some other mistakes without
    /// a line; a config that boots a guest must not be half-read, so braces, brackets, strings, substitutions and
    /// values are checked here, each with the line a user has to fix.
    /// </summary>
    public static HoconSyntaxError? FindSyntaxError(string text) => new StructureScanner(text).Scan();

    /// <summary>One pass over the text, outside strings and comments: a stack of open braces and brackets.</summary>
    private sealed class StructureScanner(string text)
    {
        private readonly Stack<(char Opener, int Line)> _open = new();
        private int _position;
        private int _line = 1;

        /// <summary>After "=" or ":" a value must follow before the object or the list ends, or a ",".</summary>
        private int? _awaitingValueSince;

        public HoconSyntaxError? Scan()
        {
            while (_position < text.Length)
            {
                char c = text[_position];
                HoconSyntaxError? error = c switch
                {
                    '\n' => NewLine(),
                    '#' => SkipComment(),
                    '/' when Next == '/' => SkipComment(),
                    '"' when text.AsSpan(_position).StartsWith("\"\"\"") => MultiLineString(),
                    '"' => QuotedString(),
                    '$' when Next == '{' => Substitution(),
                    '{' or '[' => Open(c),
                    '}' or ']' => Close(c),
                    '=' or ':' => Separator(),
                    ',' => EndOfValue(","),
                    _ => Other(c),
                };
                if (error is not null)
                {
                    return error;
                }
            }
            if (_awaitingValueSince is { } line)
            {
                return new HoconSyntaxError(line, "a key has no value before the end of the file");
            }
            return _open.Count > 0
                ? new HoconSyntaxError(_open.Peek().Line, $"'{_open.Peek().Opener}' is never closed (expected '{Closer(_open.Peek().Opener)}' before the end of the file)")
                : null;
        }

        private char Next => _position + 1 < text.Length ? text[_position + 1] : '\0';

        private static char Closer(char opener) => opener == '{' ? '}' : ']';

        /// <summary>A value may start on the line after its "=", as a list or object often does.</summary>
        private HoconSyntaxError? NewLine()
        {
            _line++;
            _position++;
            return null;
        }

        private HoconSyntaxError? SkipComment()
        {
            while (_position < text.Length && text[_position] != '\n')
            {
                _position++;
            }
            return null;
        }

        private HoconSyntaxError? QuotedString()
        {
            _awaitingValueSince = null;
            for (_position++; _position < text.Length; _position++)
            {
                switch (text[_position])
                {
                    case '\\':
                        _position++;
                        break;
                    case '"':
                        _position++;
                        return null;
                    case '\n':
                        return new HoconSyntaxError(_line, "unterminated string (a quoted string must end on its line)");
                }
            }
            return new HoconSyntaxError(_line, "unterminated string");
        }

        private HoconSyntaxError? MultiLineString()
        {
            _awaitingValueSince = null;
            int start = _line;
            int end = text.IndexOf("\"\"\"", _position + 3, StringComparison.Ordinal);
            if (end < 0)
            {
                return new HoconSyntaxError(start, "unterminated \"\"\" string");
            }
            _line += text.AsSpan(_position, end - _position).Count('\n');
            _position = end + 3;
            return null;
        }

        private HoconSyntaxError? Substitution()
        {
            _awaitingValueSince = null;
            int end = text.IndexOfAny(['}', '\n'], _position);
            if (end < 0 || text[end] != '}')
            {
                return new HoconSyntaxError(_line, "unterminated substitution (\"${\" without \"}\" on its line)");
            }
            _position = end + 1;
            return null;
        }

        private HoconSyntaxError? Open(char opener)
        {
            _awaitingValueSince = null;
            _open.Push((opener, _line));
            _position++;
            return null;
        }

        private HoconSyntaxError? Close(char closer)
        {
            HoconSyntaxError? error = EndOfValue($"'{closer}'");
            if (error is not null)
            {
                return error;
            }
            if (_open.Count == 0)
            {
                return new HoconSyntaxError(_line, $"'{closer}' without a matching '{(closer == '}' ? '{' : '[')}'");
            }
            (char opener, int line) = _open.Pop();
            if (Closer(opener) != closer)
            {
                return new HoconSyntaxError(_line, $"'{closer}' closes the '{opener}' of line {line} (expected '{Closer(opener)}')");
            }
            _position++;
            return null;
        }

        private HoconSyntaxError? Separator()
        {
            // Inside a list, ':' and '=' are ordinary characters of an unquoted value.
            if (_open.Count > 0 && _open.Peek().Opener == '[')
            {
                return Other(text[_position]);
            }
            if (_awaitingValueSince is not null)
            {
                return new HoconSyntaxError(_line, $"'{text[_position]}' where a value was expected");
            }
            _awaitingValueSince = _line;
            _position++;
            return null;
        }

        private HoconSyntaxError? EndOfValue(string what)
        {
            if (_awaitingValueSince is { } line)
            {
                return new HoconSyntaxError(line, $"a key has no value before {what}");
            }
            if (what == ",")
            {
                _position++;
            }
            return null;
        }

        private HoconSyntaxError? Other(char c)
        {
            if (!char.IsWhiteSpace(c))
            {
                _awaitingValueSince = null;
            }
            _position++;
            return null;
        }
    }
}

/// <summary>Where a HOCON text goes wrong: the 1-based line and what is wrong there.</summary>
internal sealed record HoconSyntaxError(int Line, string Problem);
