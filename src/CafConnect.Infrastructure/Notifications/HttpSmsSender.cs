using System.Net.Http.Headers;
using System.Net.Http.Json;

namespace CafConnect.Infrastructure.Notifications;

/// <summary><c>Notifications:Sms</c>.</summary>
public sealed class SmsOptions
{
    /// <summary>The gateway's endpoint that accepts <c>POST { "to", "text", "sender" }</c>.</summary>
    public string? Url { get; set; }

    /// <summary>Bearer token of the gateway.</summary>
    public string? Token { get; set; }

    /// <summary>The sender name shown on the phone.</summary>
    public string Sender { get; set; } = "Caf";

    /// <summary>Per attempt (the resilience handler's attempt timeout).</summary>
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Retries of one send on 5xx, 408, 429 and network errors, before the outbox's own backoff takes over.</summary>
    public int MaxRetries { get; set; } = 2;

    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);
}

/// <summary>
/// SMS through an HTTP gateway: <c>POST {Url}</c> with a JSON body, <c>Authorization: Bearer</c> and an
/// <c>Idempotency-Key</c> header (the outbox's key: the gateway drops a repeat of a message it already accepted,
/// including the retries of the resilience handler registered on <see cref="HttpClientName"/>).
/// </summary>
public sealed class HttpSmsSender(IHttpClientFactory httpClients, SmsOptions options) : INotificationSender
{
    public const string HttpClientName = "CafConnect.Sms";

    public async Task SendAsync(OutgoingNotification message, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(options.Url))
        {
            throw new InvalidOperationException("Notifications:Sms:Url is not set.");
        }

        using var request = new HttpRequestMessage(HttpMethod.Post, options.Url)
        {
            Content = JsonContent.Create(new SmsPayload(message.Recipient, message.TextBody, options.Sender)),
        };
        if (!string.IsNullOrEmpty(options.Token))
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", options.Token);
        }
        request.Headers.Add("Idempotency-Key", message.IdempotencyKey);

        var client = httpClients.CreateClient(HttpClientName);
        using var response = await client.SendAsync(request, cancellationToken);
        if (!response.IsSuccessStatusCode)
        {
            // The status only: the gateway's body may echo the text.
            throw new HttpRequestException($"The SMS gateway answered {(int)response.StatusCode} {response.ReasonPhrase}.", null, response.StatusCode);
        }
    }

    private sealed record SmsPayload(
        [property: System.Text.Json.Serialization.JsonPropertyName("to")] string To,
        [property: System.Text.Json.Serialization.JsonPropertyName("text")] string Text,
        [property: System.Text.Json.Serialization.JsonPropertyName("sender")] string Sender);
}
