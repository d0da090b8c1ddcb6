using System.Globalization;
using System.Text;
using MimeKit;

namespace CafConnect.Infrastructure.Notifications;

/// <summary><c>Notifications:FileSink</c>.</summary>
public sealed class FileSinkOptions
{
    /// <summary>Relative to the content root; <c>data/outbox</c> by default.</summary>
    public string Directory { get; set; } = Path.Combine("data", "outbox");
}

/// <summary>
/// Writes each message as a file: <c>.eml</c> for e-mail (opens in any mail client), <c>.txt</c> for SMS and letters.
/// Serves every channel in the embedded default (no SMTP or SMS gateway configured), and letters always: the print
/// service collects the directory. Files are named after the message id (a repeat overwrites, never duplicates),
/// written under a temporary name then renamed (a collector never sees half a file), and readable by the owner only,
/// since they hold codes and provisional passwords.
/// </summary>
public sealed class FileNotificationSink(string directory, string emailFrom) : INotificationSender
{
    public string Directory { get; } = directory;

    public async Task SendAsync(OutgoingNotification message, CancellationToken cancellationToken)
    {
        System.IO.Directory.CreateDirectory(Directory);
        var path = Path.Combine(Directory, FileName(message));
        var temporary = path + ".tmp";
        await using (var stream = CreateOwnerOnly(temporary))
        {
            if (message.Channel == NotificationChannel.Email)
            {
                await SmtpEmailSender.Build(message, emailFrom).WriteToAsync(stream, cancellationToken);
            }
            else
            {
                var bytes = Encoding.UTF8.GetBytes(TextFile(message));
                await stream.WriteAsync(bytes, cancellationToken);
            }
        }
        File.Move(temporary, path, overwrite: true);
    }

    /// <summary>The text (and HTML) of a message this sink wrote, for the Development page; null when there is no such file.</summary>
    public async Task<(string? Text, string? Html)?> TryReadAsync(Guid messageId, CancellationToken cancellationToken = default)
    {
        if (!System.IO.Directory.Exists(Directory))
        {
            return null;
        }
        var path = System.IO.Directory.EnumerateFiles(Directory, $"*_{messageId:N}.*")
            .FirstOrDefault(p => p.EndsWith(".eml", StringComparison.Ordinal) || p.EndsWith(".txt", StringComparison.Ordinal));
        if (path is null)
        {
            return null;
        }
        if (path.EndsWith(".eml", StringComparison.Ordinal))
        {
            var mime = await MimeMessage.LoadAsync(path, cancellationToken);
            return (mime.TextBody, mime.HtmlBody);
        }
        var content = await File.ReadAllTextAsync(path, Encoding.UTF8, cancellationToken);
        var start = content.IndexOf("\n\n", StringComparison.Ordinal);
        return (start < 0 ? content : content[(start + 2)..], null);
    }

    public static string FileName(OutgoingNotification message) =>
        string.Create(CultureInfo.InvariantCulture,
            $"{message.CreatedAt.UtcDateTime:yyyyMMdd'T'HHmmss'Z'}_{message.Channel.ToString().ToLowerInvariant()}_{message.Kind}_{message.Id:N}{(message.Channel == NotificationChannel.Email ? ".eml" : ".txt")}");

    private static string TextFile(OutgoingNotification message)
    {
        var header = new StringBuilder()
            .Append("Canal : ").Append(message.Channel == NotificationChannel.Sms ? "SMS" : "Courrier").Append('\n')
            .Append("Destinataire : ").Append(message.Recipient.ReplaceLineEndings(" / ")).Append('\n');
        if (message.Subject is not null)
        {
            header.Append("Objet : ").Append(message.Subject).Append('\n');
        }
        header.Append("Message : ").Append(message.Id.ToString("N")).Append('\n')
            .Append("Créé le : ").Append(message.CreatedAt.ToString("yyyy-MM-dd HH:mm:ss 'UTC'", CultureInfo.InvariantCulture)).Append('\n');
        return header.Append('\n').Append(message.TextBody).ToString();
    }

    private static FileStream CreateOwnerOnly(string path)
    {
        var options = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, Share = FileShare.None };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }
        return new FileStream(path, options);
    }
}
