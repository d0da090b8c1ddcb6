using System.Text;

namespace CafConnect.Infrastructure.Imports;

/// <summary>
/// Reads RFC 4180 CSV records (comma separator, double-quoted fields with "" escapes and line breaks inside quotes),
/// with the line number each record starts on, so a refusal can name it. Line breaks are those of
/// <see cref="TextReader.ReadLine"/> (\n, \r\n or \r); a line break inside quotes is kept as \n; empty lines are skipped.
/// </summary>
/// <remarks>
/// The import reads a million rows: lines are cut from a reusable buffer and a line without quotes (almost all of them)
/// is split with vectorised searches, one string per field and none for an empty one; the character-by-character state
/// machine runs only on lines that hold a quote.
/// </remarks>
public sealed class CsvRecordReader(TextReader reader)
{
    private const int FieldsPerRecord = 16;

    private char[] _buffer = new char[1 << 16];
    private int _position;
    private int _length;
    private bool _endOfInput;
    private int _lineStart;
    private int _lineLength;
    private int _line;
    private readonly StringBuilder _field = new();

    /// <summary>Every record, with all its fields.</summary>
    public IAsyncEnumerable<(int Line, List<string> Fields)> ReadAsync(CancellationToken cancellationToken = default) =>
        ReadRecordsAsync(firstFieldOnly: false, cancellationToken);

    /// <summary>
    /// Every record with its first field only (the list holds one element, or all of them for a line with quotes): a quick
    /// pass that cuts records exactly as <see cref="ReadAsync"/> does.
    /// </summary>
    public IAsyncEnumerable<(int Line, List<string> Fields)> ReadFirstFieldsAsync(CancellationToken cancellationToken = default) =>
        ReadRecordsAsync(firstFieldOnly: true, cancellationToken);

    private async IAsyncEnumerable<(int Line, List<string> Fields)> ReadRecordsAsync(bool firstFieldOnly,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var fields = new List<string>(FieldsPerRecord);
        var inQuotes = false;
        var startLine = 0;
        while (await NextLineAsync(cancellationToken))
        {
            _line++;
            if (!inQuotes)
            {
                startLine = _line;
                if (_lineLength == 0)
                {
                    continue;
                }
            }
            else
            {
                _field.Append('\n');
            }

            if (ProcessLine(_buffer.AsSpan(_lineStart, _lineLength), fields, ref inQuotes, firstFieldOnly))
            {
                yield return (startLine, fields);
                fields = new List<string>(FieldsPerRecord);
            }
        }
        if (inQuotes)
        {
            fields.Add(_field.ToString());
            _field.Clear();
            yield return (startLine, fields);
        }
    }

    /// <summary>Adds the line's fields; true when the record is complete (the line does not end inside quotes).</summary>
    private bool ProcessLine(ReadOnlySpan<char> text, List<string> fields, ref bool inQuotes, bool firstFieldOnly)
    {
        if (!inQuotes && !text.Contains('"'))
        {
            // A whole record on one line, without quotes: the field being built is empty here.
            while (true)
            {
                var comma = text.IndexOf(',');
                if (comma < 0)
                {
                    fields.Add(Text(text));
                    return true;
                }
                fields.Add(Text(text[..comma]));
                if (firstFieldOnly)
                {
                    return true;
                }
                text = text[(comma + 1)..];
            }
        }

        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (inQuotes)
            {
                if (c == '"')
                {
                    if (i + 1 < text.Length && text[i + 1] == '"')
                    {
                        _field.Append('"');
                        i++;
                    }
                    else
                    {
                        inQuotes = false;
                    }
                }
                else
                {
                    _field.Append(c);
                }
            }
            else if (c == '"' && _field.Length == 0)
            {
                inQuotes = true;
            }
            else if (c == ',')
            {
                fields.Add(_field.ToString());
                _field.Clear();
            }
            else
            {
                _field.Append(c);
            }
        }
        if (inQuotes)
        {
            return false;
        }
        fields.Add(_field.ToString());
        _field.Clear();
        return true;
    }

    private static string Text(ReadOnlySpan<char> value) => value.IsEmpty ? string.Empty : new string(value);

    /// <summary>Finds the next physical line in the buffer (reading more when needed); false at the end of the input.</summary>
    private async ValueTask<bool> NextLineAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var pending = _buffer.AsSpan(_position, _length - _position);
            var end = pending.IndexOfAny('\r', '\n');
            if (end >= 0)
            {
                // A \r last in the buffer may be the first half of \r\n: read on before deciding.
                if (pending[end] == '\r' && end + 1 == pending.Length && !_endOfInput)
                {
                    await FillAsync(cancellationToken);
                    continue;
                }
                _lineStart = _position;
                _lineLength = end;
                _position += end + (pending[end] == '\r' && end + 1 < pending.Length && pending[end + 1] == '\n' ? 2 : 1);
                return true;
            }
            if (_endOfInput)
            {
                if (pending.IsEmpty)
                {
                    return false;
                }
                _lineStart = _position;
                _lineLength = pending.Length;
                _position = _length;
                return true;
            }
            await FillAsync(cancellationToken);
        }
    }

    private async ValueTask FillAsync(CancellationToken cancellationToken)
    {
        var pending = _length - _position;
        if (pending == _buffer.Length)
        {
            Array.Resize(ref _buffer, _buffer.Length * 2);
        }
        else if (_position > 0)
        {
            Array.Copy(_buffer, _position, _buffer, 0, pending);
        }
        _position = 0;
        _length = pending;
        var read = await reader.ReadAsync(_buffer.AsMemory(_length), cancellationToken);
        if (read == 0)
        {
            _endOfInput = true;
        }
        _length += read;
    }
}
