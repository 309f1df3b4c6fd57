using System.Text;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Azure.Functions.Worker;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RoleGen.Core.Cohort;
using RoleGen.Core.Runs;
using RoleGen.Core.Storage;
using RoleGen.Functions.Composition;
using RoleGen.Functions.Durable;
using RoleGen.Orchestrations.Orchestrators;

namespace RoleGen.Functions.Http;

/// <summary>The run API (function keys; no anonymous endpoint). A run is a <see cref="NightlyRunOrchestrator"/> instance
/// whose instance id is the run id; its results are blobs under <c>runs/{id}/</c>.</summary>
public sealed class RunsApi(IBlobStore store, IOptions<RunsOptions> runs, IOptions<DormancyPolicy> policy, TimeProvider time, ILogger<RunsApi> logger)
{
    public const string StartFunction = "StartRun";
    public const string StatusFunction = "GetRunStatus";
    public const string TerminateFunction = "TerminateRun";
    public const string ReportFunction = "GetRunReport";

    private static readonly OrchestrationRuntimeStatus[] Active =
        [OrchestrationRuntimeStatus.Running, OrchestrationRuntimeStatus.Pending, OrchestrationRuntimeStatus.Suspended];

    /// <summary><c>POST /api/runs</c>: 202 + Location (started), 400 (invalid body), 409 (the run id exists).</summary>
    [Function(StartFunction)]
    public async Task<IActionResult> StartAsync(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "runs")] HttpRequest request,
        [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(client);
        var body = await ReadBodyAsync(request, cancellationToken).ConfigureAwait(false);
        var parsed = StartRunRequestParser.Parse(body, runs.Value, policy.Value, dataset => RunId.New(dataset, time.GetUtcNow(), Guid.NewGuid()).Value);
        if (!parsed.IsValid)
        {
            return Json(StatusCodes.Status400BadRequest, new ApiError("Invalid run request.", parsed.Problems));
        }
        var run = parsed.Request!;
        var existing = await client.GetInstanceAsync(run.RunId, getInputsAndOutputs: false, cancellationToken).ConfigureAwait(false);
        if (existing is not null)
        {
            return Conflict(run.RunId, existing.RuntimeStatus);
        }
        try
        {
            await client.ScheduleNewOrchestrationInstanceAsync(new TaskName(nameof(NightlyRunOrchestrator)), run,
                new StartOrchestrationOptions { InstanceId = run.RunId }, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (DurableClientErrors.IsAlreadyExists(ex))
        {
            return Conflict(run.RunId, null);
        }
        logger.LogInformation("Started run {RunId} on dataset {Dataset} (top-{TopK}, shard size {ShardSize}, {Parallel} shards in parallel)",
            run.RunId, run.Dataset, run.TopK, run.ShardSize, run.MaxParallelShards);
        var links = RunLinks.For(request, run.RunId);
        request.HttpContext.Response.Headers.Location = links.StatusQueryGetUri;
        return Json(StatusCodes.Status202Accepted, links);
    }

    /// <summary><c>GET /api/runs/{id}</c>: 200 with status, progress, output or failure; 404 unknown; 400 invalid id.</summary>
    [Function(StatusFunction)]
    public async Task<IActionResult> StatusAsync(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "runs/{id}")] HttpRequest request,
        [DurableClient] DurableTaskClient client,
        string id,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(client);
        if (!RunId.TryParse(id, out _))
        {
            return InvalidId(id);
        }
        var meta = await client.GetInstanceAsync(id, getInputsAndOutputs: true, cancellationToken).ConfigureAwait(false);
        if (meta is null)
        {
            return NotFound(id);
        }
        var links = RunLinks.For(request, id);
        return Json(StatusCodes.Status200OK, new RunStatusResponse(
            id,
            meta.Name,
            meta.RuntimeStatus.ToString(),
            meta.CreatedAt,
            meta.LastUpdatedAt,
            Read<RunProgress>(meta, meta.SerializedCustomStatus, m => m.ReadCustomStatusAs<RunProgress>()),
            meta.RuntimeStatus == OrchestrationRuntimeStatus.Completed && Read<RunSummary>(meta, meta.SerializedOutput, m => m.ReadOutputAs<RunSummary>()) is { } summary
                ? summary with { Error = FailureText.Sanitize(summary.Error) }
                : null,
            meta.RuntimeStatus == OrchestrationRuntimeStatus.Terminated ? FailureText.Sanitize(Read<string>(meta, meta.SerializedOutput, m => m.ReadOutputAs<string>())) : null,
            // Failure text leaves the system without storage URLs, account names or keys (the logs keep the full text).
            meta.FailureDetails is { } f ? new RunFailure(f.ErrorType, FailureText.Sanitize(f.ErrorMessage) ?? string.Empty) : null,
            links.ReportGetUri,
            links.TerminatePostUri));
    }

    /// <summary><c>POST /api/runs/{id}/terminate[?reason=...]</c>: 202 (terminating), 404 unknown, 409 not running.</summary>
    [Function(TerminateFunction)]
    public async Task<IActionResult> TerminateAsync(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "runs/{id}/terminate")] HttpRequest request,
        [DurableClient] DurableTaskClient client,
        string id,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(client);
        if (!RunId.TryParse(id, out _))
        {
            return InvalidId(id);
        }
        var meta = await client.GetInstanceAsync(id, getInputsAndOutputs: false, cancellationToken).ConfigureAwait(false);
        if (meta is null)
        {
            return NotFound(id);
        }
        if (!Active.Contains(meta.RuntimeStatus))
        {
            return Json(StatusCodes.Status409Conflict, new ApiError($"Run '{id}' is not running (it is {meta.RuntimeStatus}); nothing to terminate."));
        }
        var reason = request.Query["reason"].ToString();
        reason = string.IsNullOrWhiteSpace(reason) ? "Terminated through the API." : reason.Length > 500 ? reason[..500] : reason;
        await client.TerminateInstanceAsync(id, new TerminateInstanceOptions { Output = reason, Recursive = true }, cancellationToken).ConfigureAwait(false);
        logger.LogWarning("Terminating run {RunId} ({Status}): {Reason}", id, meta.RuntimeStatus, reason);
        var links = RunLinks.For(request, id);
        request.HttpContext.Response.Headers.Location = links.StatusQueryGetUri;
        return Json(StatusCodes.Status202Accepted, new TerminateAccepted(id, reason, links.StatusQueryGetUri));
    }

    /// <summary><c>GET /api/runs/{id}/report[?format=md|html]</c>: the run's manifest.json (default), report.md or the
    /// self-contained report.html; 404 when the run
    /// has not written it (yet).</summary>
    [Function(ReportFunction)]
    public async Task<IActionResult> ReportAsync(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "runs/{id}/report")] HttpRequest request,
        string id,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!RunId.TryParse(id, out _))
        {
            return InvalidId(id);
        }
        var format = request.Query["format"].ToString().ToLowerInvariant();
        var (path, contentType) = format switch
        {
            "" or "json" => (BlobLayout.Manifest(id), "application/json; charset=utf-8"),
            "md" or "markdown" => (BlobLayout.Report(id), "text/markdown; charset=utf-8"),
            "html" => (BlobLayout.ReportHtml(id), "text/html; charset=utf-8"),
            _ => (null, null),
        };
        if (path is null)
        {
            return Json(StatusCodes.Status400BadRequest, new ApiError($"Unknown format '{format}': use json (default), md or html."));
        }
        try
        {
            var text = await store.ReadTextAsync(path, cancellationToken).ConfigureAwait(false);
            return new ContentResult { StatusCode = StatusCodes.Status200OK, Content = text, ContentType = contentType };
        }
        catch (BlobNotFoundException)
        {
            return Json(StatusCodes.Status404NotFound,
                new ApiError($"Run '{id}' has no {Path.GetFileName(path)} (unknown run, or not finalized yet: see GET /api/runs/{id})."));
        }
    }

    private static async Task<string> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        using var reader = new StreamReader(request.Body, Encoding.UTF8, detectEncodingFromByteOrderMarks: true, leaveOpen: true);
        var buffer = new char[StartRunRequestParser.MaxBodyChars + 1];
        var total = 0;
        int read;
        while (total < buffer.Length && (read = await reader.ReadAsync(buffer.AsMemory(total), cancellationToken).ConfigureAwait(false)) > 0)
        {
            total += read;
        }
        return new string(buffer, 0, total);
    }

    private T? Read<T>(OrchestrationMetadata meta, string? serialized, Func<OrchestrationMetadata, T?> read)
        where T : class
    {
        if (string.IsNullOrEmpty(serialized))
        {
            return null;
        }
        try
        {
            return read(meta);
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or NotSupportedException or InvalidOperationException)
        {
            logger.LogWarning(ex, "Run {RunId}: could not read {Type} from the instance state", meta.InstanceId, typeof(T).Name);
            return null;
        }
    }

    private static JsonResult Json(int status, object value) => new(value, RoleGenJson.Options) { StatusCode = status };

    private static JsonResult Conflict(string runId, OrchestrationRuntimeStatus? status) => Json(StatusCodes.Status409Conflict,
        new ApiError($"Run '{runId}' already exists{(status is null ? string.Empty : $" ({status})")}: choose another runId, or leave it out to get a fresh one."));

    private static JsonResult NotFound(string id) => Json(StatusCodes.Status404NotFound, new ApiError($"No run '{id}'."));

    private static JsonResult InvalidId(string? id) => Json(StatusCodes.Status400BadRequest,
        new ApiError($"Run id '{id}' is not valid: use 1-80 letters, digits, '-', '_' or '.'."));
}

public sealed record ApiError(string Error, IReadOnlyList<string>? Problems = null);

public sealed record RunLinks(string Id, string StatusQueryGetUri, string TerminatePostUri, string ReportGetUri)
{
    /// <summary>Links on the host and path base the request came in on (the API's route prefix is kept).</summary>
    public static RunLinks For(HttpRequest request, string runId)
    {
        ArgumentNullException.ThrowIfNull(request);
        var path = request.Path.Value ?? string.Empty;
        var at = path.IndexOf("/runs", StringComparison.OrdinalIgnoreCase);
        var runsPath = at >= 0 ? path[..(at + "/runs".Length)] : "/api/runs";
        var run = $"{request.Scheme}://{request.Host}{request.PathBase}{runsPath}/{Uri.EscapeDataString(runId)}";
        return new RunLinks(runId, run, $"{run}/terminate", $"{run}/report");
    }
}

public sealed record RunStatusResponse(
    string Id,
    string? Name,
    string RuntimeStatus,
    DateTimeOffset CreatedAt,
    DateTimeOffset LastUpdatedAt,
    RunProgress? Progress,
    RunSummary? Output,
    string? TerminationReason,
    RunFailure? Failure,
    string ReportGetUri,
    string TerminatePostUri);

public sealed record RunFailure(string ErrorType, string ErrorMessage);

public sealed record TerminateAccepted(string Id, string Reason, string StatusQueryGetUri);
