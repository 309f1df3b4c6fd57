using System.Net;
using System.Text;
using Microsoft.Extensions.Time.Testing;

namespace RoleGen.Infrastructure.Tests.Reasoning;

/// <summary>
/// A fake Azure OpenAI endpoint under a 429 storm on a fake clock: every request before <see cref="StormEnds"/> is answered
/// 429 with <c>Retry-After</c>, later ones with the recorded valid answer (chat-ok.json, 976 tokens). Records when (on the
/// fake clock) each request arrived and how many 429s it sent. Thread-safe (the reasoner calls it in parallel).
/// </summary>
public sealed class StormHandler(FakeTimeProvider clock, DateTimeOffset stormEnds, int retryAfterSeconds) : HttpMessageHandler
{
    private static readonly string Ok = RecordingHandler.Recorded("chat-ok.json");
    private static readonly string Throttled = RecordingHandler.Recorded("error-429.json");
    private readonly List<DateTimeOffset> _arrivals = [];
    private int _throttled;

    public DateTimeOffset StormEnds { get; set; } = stormEnds;

    public IReadOnlyList<DateTimeOffset> Arrivals
    {
        get
        {
            lock (_arrivals)
            {
                return [.. _arrivals];
            }
        }
    }

    public int Requests => Arrivals.Count;

    public int Throttled429 => Volatile.Read(ref _throttled);

    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        lock (_arrivals)
        {
            _arrivals.Add(now);
        }
        HttpResponseMessage response;
        if (now < StormEnds)
        {
            Interlocked.Increment(ref _throttled);
            response = new HttpResponseMessage(HttpStatusCode.TooManyRequests) { Content = new StringContent(Throttled, Encoding.UTF8, "application/json") };
            response.Headers.TryAddWithoutValidation("Retry-After", retryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        else
        {
            response = new HttpResponseMessage(HttpStatusCode.OK) { Content = new StringContent(Ok, Encoding.UTF8, "application/json") };
        }
        return Task.FromResult(response);
    }
}
