using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using MimeKit;

namespace CafConnect.Infrastructure.Tests.Support;

/// <summary>A message the sink accepted: envelope and raw bytes as sent by the client.</summary>
public sealed record ReceivedMail(string MailFrom, IReadOnlyList<string> RcptTo, byte[] Raw)
{
    public MimeMessage Parse() => MimeMessage.Load(new MemoryStream(Raw));
}

/// <summary>
/// Just enough SMTP (RFC 5321) for MailKit on 127.0.0.1: EHLO/HELO, MAIL FROM, RCPT TO, DATA (dot-unstuffing), RSET,
/// NOOP, QUIT. No TLS, no AUTH. Collects the messages it accepts.
/// </summary>
public sealed class SmtpSink : IAsyncDisposable
{
    private readonly TcpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _accepting;
    private readonly ConcurrentQueue<ReceivedMail> _messages = new();

    private SmtpSink(int port)
    {
        _listener = new TcpListener(IPAddress.Loopback, port);
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accepting = AcceptAsync();
    }

    public int Port { get; }

    public IReadOnlyList<ReceivedMail> Messages => _messages.ToList();

    public static SmtpSink Start(int port = 0) => new(port);

    /// <summary>
    /// A port nothing listens on (at the time of the call), taken below the kernel's ephemeral range (32768+ here): a
    /// test that frees the port and binds it again later must not find it taken meanwhile by some other test's outgoing
    /// connection or port-0 listener, which is what happened while the session-isolation test opened thousands.
    /// </summary>
    public static int FreePort()
    {
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var port = Random.Shared.Next(20_000, 32_000);
            var probe = new TcpListener(IPAddress.Loopback, port);
            try
            {
                probe.Start();
                return port;
            }
            catch (SocketException)
            {
                // Taken: try another.
            }
            finally
            {
                probe.Stop();
            }
        }
        throw new InvalidOperationException("no free port below the ephemeral range");
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }
            _ = Task.Run(() => ServeAsync(client));
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            var stream = client.GetStream();
            var reader = new LineReader(stream);
            async Task Reply(string line) => await stream.WriteAsync(Encoding.ASCII.GetBytes(line + "\r\n"));

            string? from = null;
            var to = new List<string>();
            await Reply("220 localhost ESMTP test sink");
            try
            {
                while (await reader.ReadLineAsync(_stop.Token) is { } lineBytes)
                {
                    var line = Encoding.ASCII.GetString(lineBytes);
                    var verb = line.Split(' ', 2)[0].ToUpperInvariant();
                    switch (verb)
                    {
                        case "EHLO":
                            await Reply("250-localhost greets you");
                            await Reply("250-8BITMIME");
                            await Reply("250 SIZE 10485760");
                            break;
                        case "HELO":
                            await Reply("250 localhost");
                            break;
                        case "MAIL":
                            from = Address(line);
                            to.Clear();
                            await Reply("250 2.1.0 OK");
                            break;
                        case "RCPT":
                            to.Add(Address(line));
                            await Reply("250 2.1.5 OK");
                            break;
                        case "DATA":
                            await Reply("354 End data with <CR><LF>.<CR><LF>");
                            var data = new MemoryStream();
                            while (await reader.ReadLineAsync(_stop.Token) is { } dataLine)
                            {
                                if (dataLine.Length == 1 && dataLine[0] == (byte)'.')
                                {
                                    break;
                                }
                                var start = dataLine.Length > 0 && dataLine[0] == (byte)'.' ? 1 : 0;
                                data.Write(dataLine, start, dataLine.Length - start);
                                data.Write("\r\n"u8);
                            }
                            _messages.Enqueue(new ReceivedMail(from ?? string.Empty, to.ToList(), data.ToArray()));
                            await Reply("250 2.0.0 OK queued");
                            break;
                        case "RSET":
                            from = null;
                            to.Clear();
                            await Reply("250 OK");
                            break;
                        case "NOOP":
                            await Reply("250 OK");
                            break;
                        case "QUIT":
                            await Reply("221 2.0.0 Bye");
                            return;
                        default:
                            await Reply("502 5.5.2 Command not implemented");
                            break;
                    }
                }
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
            }
            catch (IOException)
            {
            }
        }
    }

    private static string Address(string line)
    {
        var open = line.IndexOf('<');
        var close = line.IndexOf('>', open + 1);
        return open >= 0 && close > open ? line[(open + 1)..close] : line;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await _accepting;
        }
        catch (Exception)
        {
        }
        _stop.Dispose();
    }

    /// <summary>CRLF-terminated lines as bytes (the message may be 8-bit).</summary>
    private sealed class LineReader(Stream stream)
    {
        private readonly byte[] _buffer = new byte[8192];
        private int _start;
        private int _end;

        public async Task<byte[]?> ReadLineAsync(CancellationToken cancellationToken)
        {
            var line = new MemoryStream();
            while (true)
            {
                if (_start == _end)
                {
                    _start = 0;
                    _end = await stream.ReadAsync(_buffer, cancellationToken);
                    if (_end == 0)
                    {
                        return line.Length > 0 ? line.ToArray() : null;
                    }
                }
                var newline = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
                if (newline < 0)
                {
                    line.Write(_buffer, _start, _end - _start);
                    _start = _end;
                    continue;
                }
                line.Write(_buffer, _start, newline - _start);
                _start = newline + 1;
                var bytes = line.ToArray();
                return bytes.Length > 0 && bytes[^1] == (byte)'\r' ? bytes[..^1] : bytes;
            }
        }
    }
}
