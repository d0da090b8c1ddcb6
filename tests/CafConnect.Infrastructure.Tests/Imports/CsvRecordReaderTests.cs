using CafConnect.Infrastructure.Imports;

namespace CafConnect.Infrastructure.Tests.Imports;

public sealed class CsvRecordReaderTests
{
    private static async Task<List<(int Line, List<string> Fields)>> ReadAsync(TextReader reader, bool firstFieldsOnly = false)
    {
        var records = new List<(int, List<string>)>();
        var csv = new CsvRecordReader(reader);
        await foreach (var record in firstFieldsOnly ? csv.ReadFirstFieldsAsync() : csv.ReadAsync())
        {
            records.Add(record);
        }
        return records;
    }

    private static string Show(IEnumerable<(int Line, List<string> Fields)> records) =>
        string.Join(" | ", records.Select(r => $"{r.Line}:[{string.Join("¦", r.Fields)}]"));

    private const string Tricky =
        "a,b,c\r\n" +
        "\r\n" +
        "\"Léa, Marie\",\"dit \"\"Lou\"\"\",x\n" +
        "\"sur\r\ndeux\nlignes\",,\n" +
        "\"\"\"\",\"\"\n" +
        "ab\"c,\"d\"e,f\r" +
        "last,line";

    private const string TrickyRead =
        "1:[a¦b¦c] | 3:[Léa, Marie¦dit \"Lou\"¦x] | 4:[sur\ndeux\nlignes¦¦] | 7:[\"¦] | 8:[ab\"c¦de¦f] | 9:[last¦line]";

    [Test]
    public async Task Records_fields_and_starting_lines_follow_RFC_4180_and_every_kind_of_line_break()
    {
        Assert.That(Show(await ReadAsync(new StringReader(Tricky))), Is.EqualTo(TrickyRead));
    }

    [TestCase(1)]
    [TestCase(2)]
    [TestCase(7)]
    public async Task Records_are_the_same_whatever_the_reader_hands_over_at_a_time(int charactersAtATime)
    {
        // A \r\n, a quote or a field may be cut between two reads.
        Assert.That(Show(await ReadAsync(new TrickleReader(Tricky, charactersAtATime))), Is.EqualTo(TrickyRead));
    }

    [Test]
    public async Task A_record_longer_than_the_buffer_is_read_whole()
    {
        var longField = new string('x', 200_000);
        var records = await ReadAsync(new StringReader($"a,{longField},c\n\"{longField}\n{longField}\",d\nend\n"));

        Assert.That(records.Select(r => r.Line), Is.EqualTo(new[] { 1, 2, 4 }));
        Assert.That(records[0].Fields[1], Is.EqualTo(longField));
        Assert.That(records[1].Fields[0], Is.EqualTo(longField + "\n" + longField));
        Assert.That(records[2].Fields, Is.EqualTo(new[] { "end" }));
    }

    [Test]
    public async Task Quotes_left_open_at_the_end_give_a_last_record_with_what_was_read()
    {
        var records = await ReadAsync(new StringReader("a,b\n\"open,\nstill"));

        Assert.That(Show(records), Is.EqualTo("1:[a¦b] | 2:[open,\nstill]"));
    }

    [Test]
    public async Task The_quick_pass_cuts_the_same_records_with_the_same_first_field()
    {
        var all = await ReadAsync(new StringReader(Tricky));
        var quick = await ReadAsync(new TrickleReader(Tricky, 3), firstFieldsOnly: true);

        Assert.That(quick.Select(r => (r.Line, r.Fields[0])), Is.EqualTo(all.Select(r => (r.Line, r.Fields[0]))));
    }

    /// <summary>Hands over at most <paramref name="size"/> characters per read, as a slow stream may.</summary>
    private sealed class TrickleReader(string text, int size) : TextReader
    {
        private int _position;

        public override int Read(Span<char> buffer)
        {
            var count = Math.Min(Math.Min(buffer.Length, size), text.Length - _position);
            text.AsSpan(_position, count).CopyTo(buffer);
            _position += count;
            return count;
        }

        public override int Read(char[] buffer, int index, int count) => Read(buffer.AsSpan(index, count));

        public override ValueTask<int> ReadAsync(Memory<char> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(Read(buffer.Span));
    }
}
