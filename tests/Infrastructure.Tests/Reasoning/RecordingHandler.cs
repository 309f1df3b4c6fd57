using System.Net;
using System.Text;

namespace RoleGen.Infrastructure.Tests.Reasoning;

/// <summary>One HTTP exchange as the fake Azure OpenAI endpoint saw it.</summary>
public sealed record RecordedRequest(HttpMethod Method, Uri Uri, string Body, IReadOnlyDictionary<string, string> Headers);

/// <summary>The HTTP boundary of the tests: records every request and answers from a queue of scripted responses
/// (recorded Azure OpenAI bodies under Recorded/). Running out of responses fails the test.</summary>
public sealed class RecordingHandler : HttpMessageHandler
{
    private readonly Queue<Func<CancellationToken, Task<HttpResponseMessage>>> _responses = new();
    private readonly List<RecordedRequest> _requests = [];

    public IReadOnlyList<RecordedRequest> Requests
    {
        get
        {
            lock (_requests)
            {
                return _requests.ToArray();
            }
        }
    }

    public static string Recorded(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Reasoning", "Recorded", name));

    public RecordingHandler Respond(HttpStatusCode status, string recordedFile, params (string Name, string Value)[] headers)
    {
        var body = Recorded(recordedFile);
        _responses.Enqueue(_ =>
        {
            var response = new HttpResponseMessage(status) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            response.Headers.Add("apim-request-id", Guid.NewGuid().ToString());
            foreach (var (name, value) in headers)
            {
                response.Headers.TryAddWithoutValidation(name, value);
            }
            return Task.FromResult(response);
        });
        return this;
    }

    public RecordingHandler Ok(string recordedFile = "chat-ok.json") => Respond(HttpStatusCode.OK, recordedFile);

    /// <summary>What HttpClient does when its own timeout elapses.</summary>
    public RecordingHandler ThrowTimeout()
    {
        _responses.Enqueue(_ => Task.FromException<HttpResponseMessage>(new TaskCanceledException("The request was canceled due to the configured HttpClient.Timeout of 30 seconds elapsing.",
            new TimeoutException("The operation was canceled."))));
        return this;
    }

    /// <summary>A server that never answers: only the caller's (the reasoner's per-attempt) token ends the wait.</summary>
    public RecordingHandler Hang()
    {
        _responses.Enqueue(async token =>
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, token);
            throw new InvalidOperationException("unreachable");
        });
        return this;
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var body = request.Content is null ? "" : await request.Content.ReadAsStringAsync(cancellationToken);
        var headers = request.Headers.ToDictionary(h => h.Key, h => string.Join(",", h.Value), StringComparer.OrdinalIgnoreCase);
        Func<CancellationToken, Task<HttpResponseMessage>> next;
        lock (_requests)
        {
            _requests.Add(new RecordedRequest(request.Method, request.RequestUri!, body, headers));
            Assert.True(_responses.Count > 0, $"Unexpected request #{_requests.Count} to {request.RequestUri}: no scripted response left.");
            next = _responses.Dequeue();
        }
        return await next(cancellationToken);
    }
}
