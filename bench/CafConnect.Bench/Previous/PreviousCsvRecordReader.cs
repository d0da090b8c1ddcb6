using System.Text;

namespace CafConnect.Bench.Previous;

/// <summary>
/// Reads RFC 4180 CSV records (comma separator, double-quoted fields with "" escapes and line breaks inside quotes),
/// with the line number each record starts on, so a refusal can name it.
/// </summary>
internal sealed class PreviousCsvRecordReader(TextReader reader)
{
    private int _line;

    public async IAsyncEnumerable<(int Line, List<string> Fields)> ReadAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var fields = new List<string>();
        var field = new StringBuilder();
        var inQuotes = false;
        var startLine = 0;
        string? text;
        while ((text = await reader.ReadLineAsync(cancellationToken)) is not null)
        {
            _line++;
            if (!inQuotes)
            {
                startLine = _line;
                if (text.Length == 0)
                {
                    continue;
                }
            }
            else
            {
                field.Append('\n');
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
                            field.Append('"');
                            i++;
                        }
                        else
                        {
                            inQuotes = false;
                        }
                    }
                    else
                    {
                        field.Append(c);
                    }
                }
                else if (c == '"' && field.Length == 0)
                {
                    inQuotes = true;
                }
                else if (c == ',')
                {
                    fields.Add(field.ToString());
                    field.Clear();
                }
                else
                {
                    field.Append(c);
                }
            }

            if (!inQuotes)
            {
                fields.Add(field.ToString());
                field.Clear();
                yield return (startLine, fields);
                fields = new List<string>();
            }
        }
        if (inQuotes)
        {
            fields.Add(field.ToString());
            yield return (startLine, fields);
        }
    }
}
